"""Plot the learning rate (or momentum, weight decay) schedule a config really produces, one curve per
parameter group, and write the values as CSV beside the picture.

    python tools/analysis_tools/vis_scheduler.py mmyolo::yolov5/yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py \
        --dataset-size 1000 --ngpus 1 --out-dir output/schedule --not-show

(the tool: mmyolo_vis/apps/vis_scheduler.py)
"""
import sys

from mmyolo_vis.apps.vis_scheduler import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
