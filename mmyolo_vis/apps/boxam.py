"""The box activation-map demo: inputs -> model runner -> per-box CAM -> aligned maps -> render -> write."""
from __future__ import annotations

import argparse
import logging

from ..detection.cams import METHODS
from .cli import (EXIT_BAD_INPUT, add_common_args, build_runner, check_common_args, plan_inputs, print_model_preview,
                  run_main, run_per_source, setup_logging)

logger = logging.getLogger('mmyolo_vis')


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description='Box-level activation maps (Grad-CAM, AblationCAM, D-RISE, ...) '
                                            'of a YOLO-family detector: one map per detected box.')
    add_common_args(p)
    p.add_argument('--method', default='gradcam', choices=METHODS,
                   help="CAM method (default gradcam). gradcam, gradcam++ and xgradcam show the evidence for the "
                        "box's class; hirescam, layercam and eigengradcam show the box alone")
    p.add_argument('--target-layers', nargs='+', default=None,
                   help='layers to explain (default: the neck outputs, every pyramid level)')
    p.add_argument('--topk', type=int, default=10, help='explain the k best boxes, -1 for all (default 10)')
    p.add_argument('--classes', nargs='+', help='only boxes of these class names')
    p.add_argument('--per-box', action='store_true', help='also write one picture per box')
    p.add_argument('--norm-in-bbox', action='store_true', help='normalise each map inside its box')
    p.add_argument('--eigen-smooth', action='store_true', help='first principal component of weighted activations')
    p.add_argument('--aug-smooth', action='store_true', help='average over brightness changes of the input')
    p.add_argument('--batch-size', type=int, default=32, help='ablated channels / masks per forward pass (default 32)')
    p.add_argument('--ratio-channels-to-ablate', type=float, default=1.0,
                   help='AblationCAM: share of channels to ablate, in (0, 1] (default 1)')
    p.add_argument('--num-masks', type=int, default=1000, help='D-RISE: number of random masks (default 1000)')
    p.add_argument('--alpha', type=float, default=0.5, help='opacity of the map over the image (default 0.5)')
    p.add_argument('--save-raw', action='store_true', help='also write <name>.npz: boxes, labels, scores, maps')
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from ..detection.boxam import BoxAM, BoxAMRenderer, check_settings
    check_settings(args.ratio_channels_to_ablate, args.batch_size, args.num_masks, args.topk)  # before the build
    check_common_args(args)
    planned = plan_inputs(args.img, args.out_dir, side=(('npz',) if args.save_raw else ()) + (('box',) if args.per_box else ()))
    if planned is None:
        return EXIT_BAD_INPUT
    sources, outputs, problems = planned

    from ..core.writer import write_npz, write_rgb
    from ..models.detector import ModelRunner
    runner = build_runner(args, outputs, ModelRunner)
    if args.preview_model:
        return print_model_preview(runner, sources, args.max_pixels)
    boxam = BoxAM(runner, args.method, args.target_layers, args.score_thr, args.topk, args.classes, args.batch_size,
                  args.ratio_channels_to_ablate, args.num_masks, args.aug_smooth, args.eigen_smooth)
    renderer = BoxAMRenderer(runner.classes, runner.palette, args.alpha,
                             not args.no_labels)

    def handle(source, out):
        image = source.load(args.max_pixels)
        res = boxam.run(image)
        if not len(res.boxes):
            logger.warning('%s: no box above --score-thr %s%s; the picture has no map', source.name,
                           args.score_thr, ' among --classes' if args.classes else '')
            write_rgb(out.picture, renderer.result_picture(image, res))
            return 1
        picture = renderer.result_picture(image, res, args.norm_in_bbox)
        write_rgb(out.picture, picture)
        if args.per_box:
            for k in range(len(res.boxes)):
                one = res.maps[k] if not args.norm_in_bbox else type(res)(
                    res.boxes[k:k + 1], res.labels[k:k + 1], res.scores[k:k + 1], res.maps[k:k + 1]).combined(True)
                name = runner.classes[res.labels[k]] if res.labels[k] < len(runner.classes) else res.labels[k]
                write_rgb(out.box(k, name),
                          renderer.picture(image, one, res.boxes[k:k + 1], res.labels[k:k + 1], res.scores[k:k + 1]))
        if args.save_raw:
            write_npz(out.npz, dict(boxes=res.boxes, labels=res.labels, scores=res.scores, maps=res.maps))
        if args.show:
            renderer.visualizer.show_image(picture, win_name=source.name)
        return 1 + (len(res.boxes) if args.per_box else 0)

    return run_per_source(sources, outputs, problems, handle, args.method, args.out_dir)


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
