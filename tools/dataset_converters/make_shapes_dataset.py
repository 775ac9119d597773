"""Generate the shapes detection dataset (COCO format) that the demo detector is trained on.

    python tools/dataset_converters/make_shapes_dataset.py data/shapes
    python tools/dataset_converters/make_shapes_dataset.py data/shapes --num-train 1600 --num-val 200 \
        --demo-scene demo/demo_scene.jpg --large-scene demo/large_scene.jpg

(the tool: mmyolo_vis/apps/make_shapes_dataset.py)
"""
import sys

from mmyolo_vis.apps.make_shapes_dataset import cli, main  # noqa: F401  (main: for callers that wrap it)

if __name__ == '__main__':
    sys.exit(cli())
