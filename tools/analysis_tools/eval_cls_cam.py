"""Do a classifier's class maps land on the object? Pointing game over a generated split with boxes.

    python tools/analysis_tools/eval_cls_cam.py configs/classifiers/resnet18_tiny_shapes.py \
        checkpoints/resnet18_tiny_shapes.pth --data-root data/shapes_cls --methods gradcam layercam

(the tool: mmyolo_vis/apps/eval_cls_cam.py)
"""
import sys

from mmyolo_vis.apps.eval_cls_cam import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
