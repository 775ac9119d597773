"""The large-image demo: slice, run batched, shift and clip, merge, draw, write."""
from __future__ import annotations

import argparse
import logging
import os

import cv2
import numpy as np

from .images import swap_rb
from .cli import (EXIT_BAD_INPUT, add_common_args, build_runner, check_common_args, plan_inputs, progress_bar,
                  run_main, run_per_source, setup_logging)
from .errors import UserError
from .large_reader import open_large, thumbnail
from .sliced import MERGE_METRICS, MERGE_TYPES, Detections, SlicedPredictor, check_merge, check_slicing, merge

logger = logging.getLogger('mmyolo_vis')
MAX_OUTPUT_SIDE = 4096


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description='Detect small objects in large images by sliced inference.')
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


def coco_results(dets: Detections, image_id=1) -> list[dict]:
    """COCO results format; ``category_id`` is the 1-based index of the model's class (as in the shapes
    dataset), ``category`` its name."""
    return [dict(image_id=image_id, category_id=int(l) + 1, bbox=[round(float(x1), 2), round(float(y1), 2),
                 round(float(x2 - x1), 2), round(float(y2 - y1), 2)], score=round(float(s), 5))
            for (x1, y1, x2, y2), s, l in zip(dets.boxes, dets.scores, dets.labels)]


class LargeImageDemo:
    def __init__(self, runner, patch_size=640, overlap=0.25, batch_size=1, score_thr=0.3, merge_type='nms',
                 merge_metric='iou', merge_thr=0.25, full_image=False, show_labels=True):
        self.runner = runner
        self.predictor = SlicedPredictor(runner, patch_size, overlap, batch_size, score_thr)
        self.merge_args = (merge_type, merge_metric, merge_thr)
        self.full_image = full_image
        self.score_thr = score_thr
        self.show_labels = show_labels

    def detect(self, reader, progress_desc: str | None = None):
        """-> (merged detections, unmerged detections, patch windows) for an ArrayReader or TiffReader."""
        h, w = reader.shape
        if h == 0 or w == 0:
            raise UserError('the image is empty (zero size)')
        windows = self.predictor.windows(h, w)
        if len(windows) == 1 and (h < self.predictor.patch_size or w < self.predictor.patch_size):
            logger.info('the image (%dx%d) is smaller than --patch-size %d: it runs as one patch',
                        w, h, self.predictor.patch_size)
        bar = progress_bar(len(windows), progress_desc, 'patch') if progress_desc is not None else None
        try:
            unmerged, _ = self.predictor.predict_patches(reader.read, h, w, bar.update if bar else None, windows)
        finally:
            if bar:
                bar.close()
        if self.full_image and len(windows) > 1:
            unmerged = Detections.concat([unmerged, self.whole_image(reader)])
        return merge(unmerged, *self.merge_args, classes=self.runner.classes), unmerged, windows

    def whole_image(self, reader) -> Detections:
        """One pass over the whole picture (a TIFF is first shrunk band by band)."""
        h, w = reader.shape
        scale = min(1.0, MAX_OUTPUT_SIDE / max(h, w))
        small = thumbnail(reader, scale)
        dets = Detections.from_instances(self.runner.infer([small])[0].pred_instances, self.score_thr)
        dets.boxes = dets.boxes / scale
        return dets

    def draw(self, image_bgr: np.ndarray, dets: Detections, scale: float = 1.0) -> np.ndarray:
        """Detections over ``image_bgr``, which is the picture already scaled by ``scale``."""
        from .visualizer import FeatmapVisualizer
        return FeatmapVisualizer.draw_detections(swap_rb(image_bgr), dets.boxes * scale,
                                                 dets.labels, dets.scores, self.runner.classes,
                                                 self.runner.model.dataset_meta.get('palette'),
                                                 thickness=1 if scale < 1 else 2, show_labels=self.show_labels)

    def draw_debug(self, image_bgr, unmerged: Detections, windows, scale: float = 1.0) -> np.ndarray:
        pic = self.draw(image_bgr, unmerged, scale)
        for x1, y1, x2, y2 in windows:
            cv2.rectangle(pic, (int(x1 * scale), int(y1 * scale)), (int(x2 * scale) - 1, int(y2 * scale) - 1),
                          (255, 255, 255), 1)
        return pic


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

    from .runner import ModelRunner
    from .writer import write_json, write_rgb
    runner = build_runner(args, outputs, partial(ModelRunner, tta=args.tta, deploy=args.deploy))
    demo = LargeImageDemo(runner, args.patch_size, args.patch_overlap_ratio, args.batch_size, args.score_thr,
                          args.merge_nms_type, args.merge_metric, args.merge_iou_thr, args.full_image,
                          not args.no_labels)

    def handle(source, out):
        reader = open_large(source.location, lambda: source.load(
            args.max_pixels, '; or save it as a tiled TIFF, which is read window by window'))
        try:
            from .distributed import is_main
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
                from .visualizer import FeatmapVisualizer
                FeatmapVisualizer().show(picture, win_name=source.name)
            return written
        finally:
            reader.close()

    # the patch progress bar of each image stands for the per-image bar
    return run_per_source(sources, outputs, problems, handle, 'images', args.out_dir, bar=False)


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
