"""Train a detector with MMEngine's Runner (MMYOLO style), e.g. the demo model on the CPU:

    python tools/train.py configs/yolov5/yolov5_n_shapes.py --work-dir work_dirs/yolov5_n_shapes
"""
import argparse
import os
import sys

from mmyolo_vis.training import build_runner


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file (or mmyolo::path/to/config.py)')
    p.add_argument('--work-dir', help='where logs and checkpoints go (default: work_dirs/<config name>)')
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from the latest checkpoint in the work dir, or from the given one')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow checkpoints that hold pickled Python objects (MMEngine training checkpoints)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.trust_checkpoint:  # torch >= 2.6 loads weights only by default; MMEngine's Runner cannot say otherwise
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
    runner = build_runner(args.config, args.work_dir, args.cfg_options)
    if args.resume == 'auto':
        runner._resume = True
        runner._load_from = None
    elif args.resume:
        runner._resume = True
        runner._load_from = args.resume
    runner.train()
    return 0


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count() or 1))
    sys.exit(main())
