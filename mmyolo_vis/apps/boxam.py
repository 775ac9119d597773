"""The box activation-map demo: inputs -> model runner -> per-box CAM -> aligned maps -> render -> write."""
from __future__ import annotations

import argparse
import logging
import time

from ..detection.cams import METHODS
from .cli import (ArgumentParser, EXIT_BAD_INPUT, add_common_args, add_faithfulness_option, build_runner,
                  check_common_args, faithfulness_request, plan_inputs, print_model_preview, protocol_fields,
                  run_main, run_per_source, setup_logging)

logger = logging.getLogger('mmyolo_vis')


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description='Box-level activation maps (Grad-CAM, AblationCAM, D-RISE, ...) '
                                   'of an MMYOLO or MMDetection detector (YOLO families, dense one-stage, '
                                   'two-stage and DETR-family heads): one map per detected box.')
    add_common_args(p)
    p.add_argument('--method', nargs='+', default=['gradcam'], choices=METHODS,
                   help="CAM method (default gradcam); several give one row each. gradcam, gradcam++ and xgradcam "
                        "show the evidence for the box's class; hirescam, layercam and eigengradcam show the box alone")
    p.add_argument('--target-layers', nargs='+', default=None,
                   help='layers to explain (default: the neck outputs, every pyramid level; for a DETR the '
                        'finest of the maps that enter its transformer, measured to point at boxes better than all '
                        'of them and than "encoder": on a DETR, the encoder\'s output tokens as one grid per level)')
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
    add_faithfulness_option(p, 'measure whether the detector depends on what each box map shows, the box itself as the '
                            'reference: deletion and insertion (default) and/or road. One panel per box and method, '
                            'titled "del 0.12 ins 0.64"; <name>_faithfulness.json beside the picture holds the curves '
                            'and AUCs of each box and method, and of three baselines (random map, box, Gaussian)')
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from ..detection.boxam import BoxAM, BoxAMRenderer, check_settings
    check_settings(args.ratio_channels_to_ablate, args.batch_size, args.num_masks, args.topk)  # before the build
    check_common_args(args)
    methods = list(dict.fromkeys(args.method))
    faith_metrics, protocol = faithfulness_request(args)
    side = (('npz',) if args.save_raw else ()) + (('box',) if args.per_box else ()) + \
        (('faithfulness',) if faith_metrics else ())
    planned = plan_inputs(args.img, args.out_dir, side=side)
    if planned is None:
        return EXIT_BAD_INPUT
    sources, outputs, problems = planned

    from ..core.writer import write_npz, write_rgb
    from ..models.detector import ModelRunner
    runner = build_runner(args, outputs, ModelRunner)
    if args.preview_model:
        return print_model_preview(runner, sources, args.max_pixels)
    boxams = [BoxAM(runner, m, args.target_layers, args.score_thr, args.topk, args.classes, args.batch_size,
                    args.ratio_channels_to_ablate, args.num_masks, args.aug_smooth, args.eigen_smooth) for m in methods]
    boxam = boxams[0]
    renderer = BoxAMRenderer(runner.classes, runner.palette, args.alpha,
                             not args.no_labels)
    faith = None
    if faith_metrics:
        from ..detection.faithfulness import DetectorFaithfulness
        faith = DetectorFaithfulness(boxam.wrapper, runner.model.data_preprocessor, protocol,
                                     args.perturb_batch_size, road_percentiles=args.road_percentiles)

    def class_name(label):
        return runner.classes[label] if label < len(runner.classes) else str(label)

    def handle(source, out):
        image = source.load(args.max_pixels)
        results, seconds = [], []
        for b in boxams:
            start = time.perf_counter()
            results.append(b.run(image))
            seconds.append(time.perf_counter() - start)
        res = results[0]
        if not len(res.boxes):
            logger.warning('%s: no box above --score-thr %s%s; the picture has no map', source.name,
                           args.score_thr, ' among --classes' if args.classes else '')
            write_rgb(out.picture, renderer.result_picture(image, res))
            return 1
        if faith is not None:
            picture = faithfulness_picture(source, out, image, results, seconds)
        elif len(results) > 1:  # one panel per method: the boxes' maps together
            picture = renderer.visualizer.arrange([[(m, renderer.picture(image, r.combined(args.norm_in_bbox), r.boxes,
                                                                          r.labels, r.scores))]
                                                   for m, r in zip(methods, results)], cols=1)
        else:
            picture = renderer.result_picture(image, res, args.norm_in_bbox)
        write_rgb(out.picture, picture)
        if args.per_box:
            for k in range(len(res.boxes)):
                one = res.maps[k] if not args.norm_in_bbox else type(res)(
                    res.boxes[k:k + 1], res.labels[k:k + 1], res.scores[k:k + 1], res.maps[k:k + 1]).combined(True)
                name = runner.classes[res.labels[k]] if res.labels[k] < len(runner.classes) else res.labels[k]
                write_rgb(out.box(k, name),
                          renderer.picture(image, one, res.boxes[k:k + 1], res.labels[k:k + 1], res.scores[k:k + 1]))
        if args.save_raw:  # maps: the first method's; maps_<method>: each method's
            write_npz(out.npz, dict(boxes=res.boxes, labels=res.labels, scores=res.scores, maps=res.maps,
                                    **({f'maps_{m}': r.maps for m, r in zip(methods, results)}
                                       if len(methods) > 1 else {})))
        if args.show:
            renderer.visualizer.show_image(picture, win_name=source.name)
        return 1 + (len(res.boxes) if args.per_box else 0)

    def faithfulness_picture(source, out, image, results, seconds):
        """Each box's map of each method measured (the box itself the reference), the baselines on the same
        boxes; one row of per-box panels per method, titled with the AUCs; the curves into the JSON."""
        from ..cam.faithfulness import mean_summary, short_summary, verdict
        from ..core.writer import write_json
        res = results[0]
        which = list(range(len(res.boxes)))
        measured = {m: faith.measure(r, r.maps, r.boxes, which, faith_metrics) for m, r in zip(methods, results)}
        baselines = faith.baselines(res, res.boxes, which, faith_metrics)
        means = {name: mean_summary(rows) for name, rows in [*measured.items(), *baselines.items()]}
        for m, t in zip(methods, seconds):  # the map's own time (all boxes at once where the method can)
            means[m]['seconds_per_box'] = t / len(which)
        rand = means['random']
        for m in methods:
            logger.info('%s: %s, %s %s (random map: %s)', source.name, m, short_summary(means[m]),
                        verdict(means[m].get('deletion_auc'), means[m].get('insertion_auc'),
                                rand.get('deletion_auc'), rand.get('insertion_auc')), short_summary(rand))
        boxes = []
        for k in which:
            boxes.append(dict(box=[float(v) for v in res.boxes[k]], label=int(res.labels[k]),
                              class_name=class_name(res.labels[k]), score=float(res.scores[k]),
                              methods={m: measured[m][k] for m in methods},
                              baselines={b: rows[k] for b, rows in baselines.items()}))
        write_json(out.faithfulness, dict(
            image=source.name, reference='each box itself',
            **protocol_fields(faith_metrics, protocol, args.road_percentiles),
            mean={name: dict(**v, verdict=verdict(v.get('deletion_auc'), v.get('insertion_auc'),
                                                   rand.get('deletion_auc'), rand.get('insertion_auc')))
                  for name, v in means.items() if name != 'random'} | {'random': rand},
            boxes=boxes))
        blocks = []
        for m, r in zip(methods, results):
            blocks.append([(f'{m} {class_name(r.labels[k])}: {short_summary(measured[m][k])}',
                            renderer.picture(image, r.maps[k], r.boxes[k:k + 1], r.labels[k:k + 1], r.scores[k:k + 1]))
                           for k in which])
        return renderer.visualizer.arrange(blocks, cols=len(which))

    return run_per_source(sources, outputs, problems, handle, ' '.join(methods), args.out_dir)


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
