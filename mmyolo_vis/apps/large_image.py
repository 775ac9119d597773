"""The large-image demo: slice, run batched, shift and clip, merge, draw, write."""
from __future__ import annotations

import argparse
import logging
import os

import numpy as np

from ..large.demo import MAX_OUTPUT_SIDE
from ..large.reader import open_large, thumbnail
from ..large.sliced import MERGE_METRICS, MERGE_TYPES, check_merge, check_slicing
from .cli import (ArgumentParser, EXIT_BAD_INPUT, add_common_args, build_runner, check_common_args, plan_inputs,
                  run_main, run_per_source, setup_logging)

logger = logging.getLogger('mmyolo_vis')


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description='Detect small objects in large images by sliced inference.')
    add_common_args(p)
    p.add_argument('--patch-size', type=int, default=640, help='patch side in pixels (default 640)')
    p.add_argument('--patch-overlap-ratio', type=float, default=0.25, help='overlap of neighbouring patches (default 0.25)')
    p.add_argument('--batch-size', type=int, default=1, help='patches per forward pass (default 1)')
    p.add_argument('--merge-nms-type', default='nms', choices=MERGE_TYPES, help='how patch detections merge (default nms)')
    p.add_argument('--merge-metric', default='iou', choices=MERGE_METRICS, help='overlap measure for merging (default iou)')
    p.add_argument('--merge-iou-thr', type=float, default=0.25, help='overlap threshold for merging (default 0.25)')
    p.add_argument('--full-image', action='store_true', help='also run the whole image once and merge it in')
    p.add_argument('--debug', action='store_true', help='also write <name>_debug with the patch grid and unmerged boxes')
    p.add_argument('--save-patch', action='store_true', help='with --debug: also write each patch with its boxes')
    p.add_argument('--tta', action='store_true', help="test-time augmentation with the config's tta_model")
    p.add_argument('--deploy', action='store_true', help='switch re-parameterisable blocks to deploy mode')
    p.add_argument('--export-json', action='store_true',
                   help='also write <name>.json: detections in COCO results format, original-image pixels')
    p.add_argument('--full-size-output', action='store_true',
                   help=f'write the picture at full size even when a side exceeds {MAX_OUTPUT_SIDE} px')
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    check_slicing(args.patch_size, args.patch_overlap_ratio, args.batch_size)  # before the model is built
    check_merge(args.merge_nms_type, args.merge_metric, args.merge_iou_thr)
    check_common_args(args)
    side = (('json',) if args.export_json else ()) + (('debug',) if args.debug else ()) + \
        (('patches',) if args.debug and args.save_patch else ())
    planned = plan_inputs(args.img, args.out_dir, side=side)
    if planned is None:
        return EXIT_BAD_INPUT
    sources, outputs, problems = planned

    from functools import partial

    from ..core.writer import write_json, write_rgb
    from ..models.detector import ModelRunner
    runner = build_runner(args, outputs, partial(ModelRunner, tta=args.tta, deploy=args.deploy))
    from ..large.demo import LargeImageDemo, coco_results
    demo = LargeImageDemo(runner, args.patch_size, args.patch_overlap_ratio, args.batch_size, args.score_thr,
                          args.merge_nms_type, args.merge_metric, args.merge_iou_thr, args.full_image,
                          not args.no_labels)

    def handle(source, out):
        reader = open_large(source.location, lambda: source.load(
            args.max_pixels, '; or save it as a tiled TIFF, which is read window by window'), args.max_pixels)
        try:
            from ..core.distributed import is_main
            merged, unmerged, windows = demo.detect(
                reader, progress_desc=os.path.basename(out.picture) if is_main() else None)
            h, w = reader.shape
            scale = 1.0 if args.full_size_output else min(1.0, MAX_OUTPUT_SIDE / max(h, w))
            if scale < 1:
                logger.info('%s is %dx%d: the picture is written at %.3g scale (--full-size-output for full size)',
                            source.name, w, h, scale)
            image = thumbnail(reader, scale)
            picture = demo.draw(image, merged, scale)
            write_rgb(out.picture, picture)
            written = 1
            if args.export_json:
                write_json(out.json, coco_results(merged))
            if args.debug:
                write_rgb(out.debug, demo.draw_debug(image, unmerged, windows, scale))
                written += 1
                if args.save_patch:
                    for i, (x1, y1, x2, y2) in enumerate(windows):
                        inside = (unmerged.boxes[:, 0] >= x1) & (unmerged.boxes[:, 2] <= x2) & \
                                 (unmerged.boxes[:, 1] >= y1) & (unmerged.boxes[:, 3] <= y2)
                        patch = unmerged.select(inside)
                        patch.boxes = patch.boxes - np.array([x1, y1, x1, y1], np.float32)
                        write_rgb(out.patch(i, x1, y1),
                                  demo.draw(np.ascontiguousarray(reader.read(x1, y1, x2, y2)), patch))
                    written += len(windows)
            logger.info('%s: %d patches, %d boxes before merging, %d after', source.name, len(windows),
                        len(unmerged), len(merged))
            if args.show:
                from ..vis.visualizer import HeatmapVisualizer
                HeatmapVisualizer().show(picture, win_name=source.name)
            return written
        finally:
            reader.close()

    # the patch progress bar of each image stands for the per-image bar
    return run_per_source(sources, outputs, problems, handle, 'images', args.out_dir, bar=False)


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
