"""Feature maps of any layers of a YOLO-family detector, aligned over the original image.

    python demo/featmap_vis_demo.py demo/demo_scene.jpg configs/yolov5/yolov5_n_shapes.py \
        checkpoints/yolov5_n_shapes.pth --target-layers backbone neck
"""
import sys

from mmyolo_vis.apps.featmap import cli

if __name__ == '__main__':
    sys.exit(cli())
