"""Train a detector with MMEngine's Runner (MMYOLO style), e.g. the demo model on the CPU:

    python tools/train.py configs/yolov5/yolov5_n_shapes.py --work-dir work_dirs/yolov5_n_shapes
"""
from ..engine.training import build_runner, run_job
from .cli import run_main, runner_arg_parser


def main(argv=None):
    p = runner_arg_parser(__doc__, checkpoint=False)
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from the latest checkpoint in the work dir, or from the given one '
                        '(MMEngine training checkpoints need --trust-checkpoint)')
    args = p.parse_args(argv)
    runner = build_runner(args, load_from=None if args.resume in (None, 'auto') else args.resume,
                          resume=args.resume is not None, job='train')
    run_job(runner.train)
    return 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
