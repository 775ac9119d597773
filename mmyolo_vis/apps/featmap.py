"""The feature-map demo: inputs -> model runner -> capture -> reduce/arrange -> render -> write."""
from __future__ import annotations

import argparse
import logging

from ..vis.reduce import check_display, parse_channel_reduction
from .cli import (ArgumentParser, EXIT_BAD_INPUT, add_common_args, build_runner, check_common_args, plan_inputs,
                  print_model_preview, run_main, run_per_source, setup_logging)

logger = logging.getLogger('mmyolo_vis')


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        description='Draw the feature maps of any layers of an MMYOLO / MMDetection detector over the image.')
    add_common_args(p)
    p.add_argument('--out-file', help='output picture path (one input image only)')
    p.add_argument('--target-layers', nargs='+', default=['backbone'],
                   help='layers to show, e.g. backbone neck.out_layers[2] backbone.stage4[-1] (default: backbone)')
    p.add_argument('--channel-reduction', default='select_max',
                   help='squeeze_mean, select_max or None (then --topk channels are shown) (default: select_max)')
    p.add_argument('--topk', type=int, default=4,
                   help='with --channel-reduction None: how many channels to show per map, by activation (default 4)')
    p.add_argument('--arrangement', nargs=2, type=int, default=[2, 2], metavar=('ROWS', 'COLS'),
                   help='with --topk: rows and columns of each map\'s panels (default 2 2)')
    p.add_argument('--alpha', type=float, default=0.5, help='opacity of the heat map over the image (default 0.5)')
    p.add_argument('--save-raw', action='store_true', help='also write the captured tensors as <name>.npz')
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    reduction = parse_channel_reduction(args.channel_reduction)
    check_display(1, reduction, args.topk, tuple(args.arrangement))  # arrangement errors before the build
    check_common_args(args)
    planned = plan_inputs(args.img, args.out_dir, args.out_file, ('npz',) if args.save_raw else ())
    if planned is None:
        return EXIT_BAD_INPUT
    sources, outputs, problems = planned

    from ..core.writer import write_npz, write_rgb
    from ..models.detector import ModelRunner
    runner = build_runner(args, outputs, ModelRunner, args.out_file)
    if args.preview_model:
        return print_model_preview(runner, sources, args.max_pixels)
    from ..featmaps.demo import FeatmapDemo
    demo = FeatmapDemo(runner, args.target_layers, reduction, args.topk, args.arrangement, args.alpha,
                       args.score_thr, not args.no_labels)

    def handle(source, out):
        picture, maps, _ = demo.run(source.load(args.max_pixels))
        write_rgb(out.picture, picture)
        if args.save_raw:
            write_npz(out.npz, maps)
        if args.show:
            demo.visualizer.show_image(picture, win_name=source.name)

    return run_per_source(sources, outputs, problems, handle, 'feature maps',
                          outputs[0].picture if args.out_file else args.out_dir)


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
