"""``tools/analysis_tools/event_images.py``: the pictures a training run logged under one tag (the map hooks'
pictures, or any other) read back from its TensorBoard event file and laid side by side, one titled panel per
step: how a layer's map changed over the epochs.

    python tools/analysis_tools/event_images.py work_dirs/yolov5_n_shapes_vis_hooks --tag featmap_00000 \\
        --steps 1 2 4 6 --out output/featmap_over_epochs.jpg
"""
from __future__ import annotations

import argparse
import os

from ..core.errors import UserError
from .cli import ArgumentParser, run_main, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description='Pictures of one tag of a TensorBoard event file, one panel per step, '
                                   'side by side (how a map changed while the model trained).')
    p.add_argument('logdir', help='a folder holding events.out.tfevents.* files (searched recursively: a work dir)')
    p.add_argument('--tag', help='the pictures\' tag (without it: list the tags and their steps)')
    p.add_argument('--steps', nargs='+', type=int, help='the steps to show (default: every logged step)')
    p.add_argument('--step-name', default='epoch', help='panel titles: "<step-name> <step>" (default epoch)')
    p.add_argument('--cols', type=int, default=None, help='panels per row (default: all in one row)')
    p.add_argument('--scale', type=float, default=1.0, help='scale every picture by this factor (default 1)')
    p.add_argument('--out', default='output/event_images.jpg', help='output picture (default output/event_images.jpg)')
    return p


def event_dirs(logdir: str) -> list[str]:
    found = sorted({root for root, _, files in os.walk(logdir) for f in files if f.startswith('events.out.tfevents')})
    if not found:
        raise UserError(f'{logdir}: no TensorBoard event file (events.out.tfevents.*) under it; train with '
                        "visualizer.vis_backends including dict(type='TensorboardVisBackend')")
    return found


def read_tag(logdir: str) -> dict[str, dict[int, bytes]]:
    """{tag: {step: encoded picture}} of every event file under ``logdir`` (a later file wins a step)."""
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator
    tags: dict[str, dict[int, bytes]] = {}
    for folder in event_dirs(logdir):
        acc = EventAccumulator(folder, size_guidance={IMAGES: 0})
        acc.Reload()
        for tag in acc.Tags()['images']:
            for event in acc.Images(tag):
                tags.setdefault(tag, {})[event.step] = event.encoded_image_string
    return tags


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    if args.scale <= 0 or (args.cols is not None and args.cols < 1):
        raise UserError('--scale and --cols must be positive')
    import cv2

    from ..core.images import decode_image, swap_rb
    from ..core.writer import write_rgb
    from ..vis.visualizer import HeatmapVisualizer
    tags = read_tag(args.logdir)
    if not args.tag:
        for tag, steps in sorted(tags.items()):
            print(f'{tag}: steps {" ".join(map(str, sorted(steps)))}')
        return 0
    if args.tag not in tags:
        raise UserError(f'--tag {args.tag}: no such picture tag under {args.logdir} '
                        f'(it has {", ".join(sorted(tags)) or "none"})')
    logged = tags[args.tag]
    steps = args.steps or sorted(logged)
    missing = [s for s in steps if s not in logged]
    if missing:
        raise UserError(f'--steps {" ".join(map(str, missing))}: not logged under {args.tag} '
                        f'(steps {" ".join(map(str, sorted(logged)))})')
    panels = []
    for s in steps:
        rgb = swap_rb(decode_image(logged[s], f'{args.tag} step {s}'))
        if args.scale != 1:
            rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * args.scale)), max(1, round(rgb.shape[0] * args.scale))),
                             interpolation=cv2.INTER_AREA)
        panels.append([(f'{args.step_name} {s}', rgb)])
    picture = HeatmapVisualizer().arrange(panels, args.cols or len(panels))
    write_rgb(args.out, picture)
    print(f'wrote {args.out}: {len(steps)} steps of {args.tag}, {picture.shape[1]}x{picture.shape[0]}')
    return 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))


