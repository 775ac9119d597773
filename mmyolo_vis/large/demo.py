"""The large-image product: slice, run batched, shift and clip, merge (``sliced``), read window by window
(``reader``), and draw the merged boxes, the patch grid and each patch."""
from __future__ import annotations

import logging

import cv2
import numpy as np

from ..core.errors import UserError
from ..core.images import swap_rb
from ..core.progress import progress_bar
from .reader import thumbnail
from .sliced import Detections, SlicedPredictor, merge

logger = logging.getLogger('mmyolo_vis')
MAX_OUTPUT_SIDE = 4096


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
        from ..vis.visualizer import HeatmapVisualizer
        return HeatmapVisualizer.draw_detections(swap_rb(image_bgr), dets.boxes * scale,
                                                 dets.labels, dets.scores, self.runner.classes,
                                                 self.runner.palette,
                                                 thickness=1 if scale < 1 else 2, show_labels=self.show_labels)

    def draw_debug(self, image_bgr, unmerged: Detections, windows, scale: float = 1.0) -> np.ndarray:
        pic = self.draw(image_bgr, unmerged, scale)
        for x1, y1, x2, y2 in windows:
            cv2.rectangle(pic, (int(x1 * scale), int(y1 * scale)), (int(x2 * scale) - 1, int(y2 * scale) - 1),
                          (255, 255, 255), 1)
        return pic
