"""Evaluate a checkpoint on the config's test split with MMEngine's Runner (COCO bbox mAP):

    python tools/test.py configs/yolov5/yolov5_n_shapes.py checkpoints/yolov5_n_shapes.pth
"""
import argparse
import os
import sys

from mmyolo_vis.training import build_runner


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file (or mmyolo::path/to/config.py)')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow checkpoints that hold pickled Python objects (MMEngine training checkpoints)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.trust_checkpoint:  # torch >= 2.6 loads weights only by default; MMEngine's Runner cannot say otherwise
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
    runner = build_runner(args.config, args.work_dir, args.cfg_options, load_from=args.checkpoint)
    metrics = runner.test()
    print({k: round(float(v), 4) for k, v in metrics.items()})
    return 0


if __name__ == '__main__':
    sys.exit(main())
