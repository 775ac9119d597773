"""Pictures a training run logged under one tag, read back from its TensorBoard event file, side by side:

    python tools/analysis_tools/event_images.py work_dirs/yolov5_n_shapes_vis_hooks --tag featmap_00000 \
        --steps 1 2 4 6 --out output/featmap_over_epochs.jpg

Without --tag it lists the tags and their steps.
"""
import sys

from mmyolo_vis.apps.event_images import cli

if __name__ == '__main__':
    sys.exit(cli())
