"""Evaluate a checkpoint on the config's test split with MMEngine's Runner (COCO bbox mAP):

    python tools/test.py configs/yolov5/yolov5_n_shapes.py checkpoints/yolov5_n_shapes.pth
"""
import contextlib
import os

from ..engine.training import build_runner, run_job
from .cli import run_main, runner_arg_parser

# MMEngine gathers the ranks' results through files under this folder of the current directory
# (collect_results_cpu); it removes its own temporary folder inside, never the folder itself.
DIST_TMP = '.dist_test'


def main(argv=None):
    args = runner_arg_parser(__doc__, checkpoint=True).parse_args(argv)
    had_tmp = os.path.isdir(DIST_TMP)
    try:
        metrics = run_job(build_runner(args, load_from=args.checkpoint, job='test').test)
    finally:
        if not had_tmp:
            with contextlib.suppress(OSError):  # left alone when not empty (another run's) or already gone
                os.rmdir(DIST_TMP)
    print({k: round(float(v), 4) for k, v in metrics.items()})
    return 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
