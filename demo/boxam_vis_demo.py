"""Box-level activation maps: why did the detector find each box?

    python demo/boxam_vis_demo.py demo/demo_scene.jpg configs/yolov5/yolov5_n_shapes.py \
        checkpoints/yolov5_n_shapes.pth --method gradcam --per-box
"""
import sys

from mmyolo_vis.apps.boxam import cli

if __name__ == '__main__':
    sys.exit(cli())
