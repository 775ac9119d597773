"""Turn an MMEngine training checkpoint (yours, trusted) into a small tensor-only file that loads
with ``weights_only=True``: the (EMA) weights plus ``meta.dataset_meta`` (class names, palette).

    python tools/model_converters/publish_model.py work_dirs/yolov5_n_shapes/best_coco_bbox_mAP_50_epoch_24.pth \
        checkpoints/yolov5_n_shapes.pth

(the tool: mmyolo_vis/apps/publish_model.py)
"""
import sys

from mmyolo_vis.apps.publish_model import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
