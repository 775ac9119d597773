"""Measure whether box activation maps land on their objects, over a split with ground truth.

    python tools/analysis_tools/eval_boxam.py configs/yolov5/yolov5_n_shapes.py checkpoints/yolov5_n_shapes.pth \
        --methods gradcam eigencam ablationcam drise --out-file output/eval_boxam.json

(the tool: mmyolo_vis/apps/eval_boxam.py)
"""
import sys

from mmyolo_vis.apps.eval_boxam import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
