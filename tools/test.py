"""Evaluate a checkpoint on the config's test split with MMEngine's Runner (COCO bbox mAP):

    python tools/test.py configs/yolov5/yolov5_n_shapes.py checkpoints/yolov5_n_shapes.pth

(the tool: mmyolo_vis/apps/test.py)
"""
import sys

from mmyolo_vis.apps.test import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
