"""Evaluate a checkpoint on the config's test split with MMEngine's Runner (COCO bbox mAP):

    python tools/test.py configs/yolov5/yolov5_n_shapes.py checkpoints/yolov5_n_shapes.pth
"""
from ..engine.training import build_runner
from .cli import runner_arg_parser


def main(argv=None):
    args = runner_arg_parser(__doc__, checkpoint=True).parse_args(argv)
    metrics = build_runner(args, load_from=args.checkpoint).test()
    print({k: round(float(v), 4) for k, v in metrics.items()})
    return 0


def cli(argv=None) -> int:
    return main(argv)
