"""``tools/analysis_tools/vis_cam.py``: class activation maps of an MMPretrain classifier, one titled panel per
target category, placed on the original image (the part a centre crop cut off gets no map)."""
from __future__ import annotations

import argparse
import logging

import numpy as np

from ..core.errors import UserError
from ..core.images import DEFAULT_MAX_PIXELS
from .cli import (ArgumentParser, EXIT_BAD_INPUT, add_cfg_options, add_faithfulness_option, build_runner,
                  check_common_args, faithfulness_request, logger, plan_inputs, print_model_preview,
                  protocol_fields, run_main, run_per_source, setup_logging)


def build_parser() -> argparse.ArgumentParser:
    from ..classification.methods import METHODS
    p = ArgumentParser(description='Class activation maps (Grad-CAM, LayerCAM, EigenCAM, ...) of an '
                                            'MMPretrain image classifier, CNN or ViT.')
    p.add_argument('img', nargs='+', help='image file(s), folder(s) (searched recursively) or http(s) URL(s)')
    p.add_argument('config', help='config file, or a packaged one such as mmpretrain::resnet/resnet18_8xb32_in1k.py')
    p.add_argument('checkpoint', help='checkpoint file or http(s) URL')
    p.add_argument('--target-layers', nargs='+', default=None,
                   help='layers to explain (default: a CNN\'s last block output, e.g. backbone.layer4[1]; a ViT\'s '
                        'backbone.layers[-1].ln1; Swin\'s backbone.norm3)')
    p.add_argument('--preview-model', action='store_true', help='print every module with its output shape and exit')
    p.add_argument('--method', nargs='+', default=['gradcam'],
                   help=f'{", ".join(METHODS)}; any case (default gradcam); several give one row each')
    p.add_argument('--target-category', nargs='+', default=None,
                   help='class indices or names, one panel each (default: the predicted class)')
    p.add_argument('--save-path', help='output picture (one input image)')
    p.add_argument('--out-dir', default='./output', help='output folder for several images (default ./output)')
    p.add_argument('--vit-like', action='store_true', default=None,
                   help='the target layer outputs tokens: drop the extra tokens, arrange the rest as a square grid '
                        '(default: on for a transformer backbone)')
    p.add_argument('--num-extra-tokens', type=int, default=None,
                   help='leading tokens to drop with --vit-like (default: read from the backbone)')
    p.add_argument('--aug-smooth', action='store_true', help='average over flips and brightness changes')
    p.add_argument('--eigen-smooth', action='store_true', help='first principal component of the weighted activations')
    p.add_argument('--batch-size', type=int, default=32, help='ablationcam: channels per forward pass (default 32)')
    p.add_argument('--alpha', type=float, default=0.5, help='opacity of the map over the image (default 0.5)')
    p.add_argument('--device', default=None, help='cpu, cuda or cuda:N (default: cuda:0 when there is a GPU)')
    p.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS,
                   help='refuse, before decoding, a picture of more pixels than this (default 100000000)')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow a checkpoint that holds pickled Python objects (trusted sources only)')
    p.add_argument('--show', action='store_true', help='also show each picture in a window')
    add_faithfulness_option(p, 'measure whether the classifier depends on what each map shows, the whole picture the '
                            'reference: deletion and insertion (default) and/or road. Panel titles get "del 0.12 ins '
                            '0.64"; <name>_faithfulness.json beside the picture holds the curves and AUCs of each '
                            'category and method, and of three baselines (random map, whole picture, Gaussian)')
    add_cfg_options(p)
    from ..core.distributed import add_launcher_arg
    add_launcher_arg(p)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from ..classification.methods import method_name
    methods = [method_name(m) for m in args.method]  # every option is checked before the model loads
    check_common_args(args)
    if args.batch_size < 1:
        raise UserError(f'--batch-size {args.batch_size}: must be positive')
    if args.num_extra_tokens is not None and args.num_extra_tokens < 0:
        raise UserError(f'--num-extra-tokens {args.num_extra_tokens}: must be 0 or more')
    faith_metrics, protocol = faithfulness_request(args)
    planned = plan_inputs(args.img, args.out_dir, args.save_path, out_file_option='--save-path',
                          side=('faithfulness',) if faith_metrics else ())
    if planned is None:
        return EXIT_BAD_INPUT
    sources, outputs, problems = planned

    from ..classification.cam import ClassifierCAM
    from ..classification.panels import cams_picture
    from ..core.writer import write_rgb
    from ..models.classifier import ClassifierRunner
    from ..vis.visualizer import HeatmapVisualizer
    runner = build_runner(args, outputs, ClassifierRunner, args.save_path, '--save-path')
    if args.preview_model:
        return print_model_preview(runner, sources, args.max_pixels,
                                   lambda image: runner.model(runner.prepare(image)[0], mode='tensor'))
    categories = [runner.category(c) for c in args.target_category] if args.target_category else None
    cams = [ClassifierCAM(runner, m, args.target_layers, args.vit_like, args.num_extra_tokens, args.aug_smooth,
                          args.eigen_smooth, args.batch_size) for m in methods]
    if not args.target_layers:  # said once for the run (every method uses it)
        logger.info('target layer: %s (the default; choose with --target-layers, see --preview-model)',
                    ' '.join(cams[0].layer_names))
    visualizer = HeatmapVisualizer(alpha=args.alpha)
    faith = None
    if faith_metrics:
        from ..classification.faithfulness import ClassifierFaithfulness
        faith = ClassifierFaithfulness(runner, protocol, args.perturb_batch_size, args.road_percentiles)

    def handle(source, out):
        image = source.load(args.max_pixels)
        maps = [cam.run(image, categories) for cam in cams]
        notes = measure(source, out, maps) if faith is not None else None
        picture = cams_picture(visualizer, image, cams, categories, args.alpha, maps, notes)
        write_rgb(out.picture, picture)
        if args.show:
            visualizer.show(picture, win_name=source.name)

    def measure(source, out, maps) -> list[list[str]]:
        """Every map's deletion / insertion / ROAD, the baselines on the same picture, the JSON beside the
        picture; the panel notes ('del 0.12 ins 0.64'), one list per method."""
        from ..cam.faithfulness import short_summary, verdict
        from ..core.writer import write_json
        first = maps[0]
        cats = [m.category for m in first]
        measured = {cam.method: faith.measure(m[0].inputs, np.stack([x.input_cam for x in m]), cats, faith_metrics)
                    for cam, m in zip(cams, maps)}
        baselines = faith.baselines(first[0].inputs, cats, faith_metrics)
        categories_out = []
        for j, m in enumerate(first):
            rand = baselines['random'][j]
            categories_out.append(dict(
                category=m.category, name=m.name, probability=m.probability,
                methods={name: dict(**rows[j], verdict=verdict(rows[j].get('deletion_auc'),
                                                               rows[j].get('insertion_auc'),
                                                               rand.get('deletion_auc'), rand.get('insertion_auc')))
                         for name, rows in measured.items()},
                baselines={b: rows[j] for b, rows in baselines.items()}))
            for name, rows in measured.items():
                logger.info('%s: %s %s, %s %s (random map: %s)', source.name, name, m.name, short_summary(rows[j]),
                            categories_out[-1]['methods'][name]['verdict'], short_summary(rand))
        write_json(out.faithfulness, dict(
            image=source.name, reference='the whole network input',
            **protocol_fields(faith_metrics, protocol, args.road_percentiles),
            categories=categories_out))
        return [[short_summary(r) for r in measured[cam.method]] for cam in cams]

    return run_per_source(sources, outputs, problems, handle, ' '.join(methods),
                          outputs[0].picture if args.save_path else args.out_dir)


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
