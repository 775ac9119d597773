"""Browse a dataset as the model sees it: the loaded images, the network inputs, or every pipeline step.

    python tools/analysis_tools/browse_dataset.py configs/yolov5/yolov5_n_shapes.py --mode pipeline \
        --show-number 5 --out-dir output/browse --not-show

(the tool: mmyolo_vis/apps/browse_dataset.py)
"""
import sys

from mmyolo_vis.apps.browse_dataset import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
