"""Generate the shapes classification set the demo classifiers are trained on (MMPretrain folder layout).

    python tools/dataset_converters/make_shapes_cls_dataset.py data/shapes_cls --num-train 8000 --num-val 400

(the tool: mmyolo_vis/apps/make_shapes_cls_dataset.py)
"""
import sys

from mmyolo_vis.apps.make_shapes_cls_dataset import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
