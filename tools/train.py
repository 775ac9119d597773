"""Train a detector with MMEngine's Runner (MMYOLO style), e.g. the demo model on the CPU:

    python tools/train.py configs/yolov5/yolov5_n_shapes.py --work-dir work_dirs/yolov5_n_shapes

(the tool: mmyolo_vis/apps/train.py)
"""
import sys

from mmyolo_vis.apps.train import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
