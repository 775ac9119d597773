"""Generate the shapes classification set the demo classifiers are trained on (MMPretrain folder layout).

    python tools/dataset_converters/make_shapes_cls_dataset.py data/shapes_cls --num-train 8000 --num-val 400

One shape (circle, square, triangle, star) per 72x72 picture, drawn by the detection set's own code on the
same cluttered backgrounds; <root>/annotations/<split>.json holds each shape's box (for the pointing game).
The same seed gives byte-identical files.

    python tools/dataset_converters/make_shapes_cls_dataset.py --scene demo/shapes_two.jpg --classes circle star \
        --seed 61

writes one 192x192 picture with a shape of each class (the README's vis_cam picture) and its boxes beside
it (demo/shapes_two.json).
"""
import argparse
from pathlib import Path

from ..datasets.shapes import CLASSES, generate_classification_scene, generate_classification_split
from .cli import ArgumentParser


def main(argv=None):
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out_dir', nargs='?', help='root of the set (not with --scene)')
    p.add_argument('--scene', help='write one picture with a shape of each of --classes here instead')
    p.add_argument('--classes', nargs='+', choices=CLASSES, default=['circle', 'star'])
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-train', type=int, default=8000)
    p.add_argument('--num-val', type=int, default=400)
    p.add_argument('--size', type=int, default=72, help='picture side in pixels (default 72)')
    args = p.parse_args(argv)
    if args.scene:
        path = Path(args.scene)
        objs = generate_classification_scene(path, path.with_suffix('.json'), args.seed,
                                             [CLASSES.index(c) for c in args.classes], 192)
        print(f'wrote {path} and {path.with_suffix(".json")}: ' +
              ', '.join(f'{CLASSES[o.label]} at {[round(v) for v in o.bbox_xyxy]}' for o in objs))
        return 0
    if not args.out_dir:
        p.error('give the folder to write the set to (or --scene)')
    root = Path(args.out_dir)
    generate_classification_split(root, 'train', args.num_train, args.seed * 1000 + 11, args.size)
    generate_classification_split(root, 'val', args.num_val, args.seed * 1000 + 12, args.size)
    print(f'wrote {args.num_train} train and {args.num_val} val pictures under {root}')
    return 0


def cli(argv=None) -> int:
    return main(argv)
