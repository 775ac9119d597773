"""Do a classifier's class maps land on the object? Pointing game over a generated split with boxes.

    python tools/analysis_tools/eval_cls_cam.py configs/classifiers/resnet18_tiny_shapes.py \
        checkpoints/resnet18_tiny_shapes.pth --data-root data/shapes_cls --methods gradcam layercam

Each picture's map is made for its object's class. Pointing game: the map's maximum inside the object's box
grown by --tolerance px (15 by default; "strict": 0 px); energy: the share of the map's mass in the box.
"""
import argparse

from ..core.progress import progress
from .cli import ArgumentParser, run_main, setup_logging


def main(argv=None):
    from ..classification.methods import METHODS
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--data-root', default='data/shapes_cls')
    p.add_argument('--split', default='val')
    p.add_argument('--methods', nargs='+', default=list(METHODS))
    p.add_argument('--tolerance', type=float, default=15.0)
    p.add_argument('--num-images', type=int, default=-1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out-file', help='also write the table as JSON')
    args = p.parse_args(argv)
    setup_logging()
    from ..classification.cam import ClassifierCAM
    from ..classification.eval import accuracy, check_classes, evaluate, load_split
    from ..classification.methods import method_name
    from ..models.classifier import ClassifierRunner
    from .cli import check_evaluation_args
    methods = [method_name(m) for m in args.methods]
    check_evaluation_args(args.num_images, args.out_file)
    samples = load_split(args.data_root, args.split)
    if args.num_images > 0:
        samples = samples[:args.num_images]
    runner = ClassifierRunner(args.config, args.checkpoint, args.device)
    check_classes(samples, runner.classes)
    rows = [evaluate(ClassifierCAM(runner, m), samples, args.tolerance,
                     lambda s, m=m: progress(s, len(s), m)) for m in methods]
    print(f'accuracy {accuracy(runner, samples):.3f} on {len(samples)} images')
    print(f'{"method":14}{"layers":28}{"images":>7}{"pointing":>10}{"strict":>8}{"energy":>8}')
    for r in rows:
        print(f'{r["method"]:14}{r["layers"]:28}{r["images"]:7d}{r["pointing_game"]:10.3f}'
              f'{r["pointing_game_strict"]:8.3f}{r["energy_in_box"]:8.3f}')
    if args.out_file:
        from ..core.writer import write_json
        write_json(args.out_file, rows)
    return 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
