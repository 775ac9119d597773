"""Sliced inference on images far larger than the network input.

    python demo/large_image_demo.py demo/large_scene.jpg configs/yolov5/yolov5_n_shapes.py \
        checkpoints/yolov5_n_shapes.pth --patch-size 320 --batch-size 8
"""
import sys

from mmyolo_vis.apps.large_image import cli

if __name__ == '__main__':
    sys.exit(cli())
