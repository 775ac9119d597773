"""Generate the shapes detection dataset (COCO format) that the demo detector is trained on.

    python tools/dataset_converters/make_shapes_dataset.py data/shapes
    python tools/dataset_converters/make_shapes_dataset.py data/shapes --num-train 1600 --num-val 200 \
        --demo-scene demo/demo_scene.jpg --large-scene demo/large_scene.jpg

The same seed gives byte-identical annotation files and images.
"""
import argparse
from pathlib import Path

from ..datasets.shapes import generate_large_scene, generate_scene, generate_split
from .cli import ArgumentParser


def parse_args(argv=None):
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out_dir', help='dataset root: writes images/{train,val}/ and annotations/{train,val}.json')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-train', type=int, default=1600)
    p.add_argument('--num-val', type=int, default=200)
    p.add_argument('--min-side', type=int, default=256, help='smallest image width')
    p.add_argument('--max-side', type=int, default=512, help='largest image width')
    p.add_argument('--demo-scene', metavar='IMAGE',
                   help='also write one ordinary 640x480 scene here (annotations beside it as <name>.json)')
    p.add_argument('--large-scene', metavar='IMAGE',
                   help='also write one large scene here (its annotations go beside it as <name>.json)')
    p.add_argument('--large-size', type=int, nargs=2, default=(4000, 3000), metavar=('W', 'H'))
    p.add_argument('--large-objects', type=int, default=180)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    root = Path(args.out_dir)
    # Different seeds per split so that val is never a copy of train.
    generate_split(root, 'train', args.num_train, args.seed * 1000 + 1, (args.min_side, args.max_side))
    generate_split(root, 'val', args.num_val, args.seed * 1000 + 2, (args.min_side, args.max_side))
    print(f'wrote {args.num_train} train and {args.num_val} val images under {root}')
    if args.demo_scene:
        img = Path(args.demo_scene)
        n = generate_scene(img, img.with_suffix('.json'), args.seed * 1000 + 4, 640, 480, num_objects=6,
                           min_size=24, max_size=200, clutter=8)
        print(f'wrote {img} (640x480, {n} objects) and {img.with_suffix(".json")}')
    if args.large_scene:
        img = Path(args.large_scene)
        n = generate_large_scene(img, img.with_suffix('.json'), args.seed * 1000 + 3,
                                 *args.large_size, num_objects=args.large_objects)
        print(f'wrote {img} ({args.large_size[0]}x{args.large_size[1]}, {n} objects) and {img.with_suffix(".json")}')
    return 0


def cli(argv=None) -> int:
    return main(argv)
