"""Sliced inference on large images: a sahi slice grid, real batched forward passes, boxes shifted and
clipped into the image, and merging by NMS / soft-NMS (mmcv) or NMM / greedy NMM (sahi)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.errors import UserError

MERGE_TYPES = ('nms', 'soft_nms', 'nmm', 'greedy_nmm')
MERGE_METRICS = ('iou', 'ios')


@dataclass
class Detections:
    boxes: np.ndarray  # (N, 4) xyxy float32, image pixels
    scores: np.ndarray  # (N,)
    labels: np.ndarray  # (N,) int64

    @classmethod
    def empty(cls) -> 'Detections':
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    @classmethod
    def concat(cls, parts: list['Detections']) -> 'Detections':
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]),
                   np.concatenate([p.labels for p in parts]))

    @classmethod
    def from_instances(cls, inst, score_thr: float = 0.0) -> 'Detections':
        keep = inst.scores > score_thr
        return cls(inst.bboxes[keep].float().cpu().numpy(), inst.scores[keep].float().cpu().numpy(),
                   inst.labels[keep].cpu().numpy().astype(np.int64))

    def __len__(self):
        return len(self.scores)

    def select(self, idx) -> 'Detections':
        return Detections(self.boxes[idx], self.scores[idx], self.labels[idx])


def check_slicing(patch_size: int, overlap: float, batch_size: int = 1):
    if not 0 <= overlap < 1:
        raise UserError(f'--patch-overlap-ratio {overlap}: use a value in [0, 1)')
    if patch_size < 1:
        raise UserError(f'--patch-size {patch_size}: must be positive')
    if batch_size < 1:
        raise UserError(f'--batch-size {batch_size}: must be positive')


def check_merge(merge_type: str, metric: str, iou_thr: float = 0.25):
    if not 0 <= iou_thr <= 1:  # below 0, mmcv's batched NMS would merge boxes of different classes too
        raise UserError(f'--merge-iou-thr {iou_thr}: use a value in [0, 1]')
    if merge_type not in MERGE_TYPES:
        raise UserError(f'--merge-nms-type {merge_type!r}: use one of {", ".join(MERGE_TYPES)}')
    if metric not in MERGE_METRICS:
        raise UserError(f'--merge-metric {metric!r}: use iou or ios')
    if merge_type == 'soft_nms' and metric != 'iou':
        raise UserError('--merge-nms-type soft_nms works with --merge-metric iou only')


def slice_grid(height: int, width: int, patch_size: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Patch windows (x1, y1, x2, y2) covering the image, from sahi; one window if the image is smaller."""
    from sahi.slicing import get_slice_bboxes
    check_slicing(patch_size, overlap)
    if height <= patch_size and width <= patch_size:
        return [(0, 0, width, height)]
    return [tuple(int(v) for v in b) for b in get_slice_bboxes(
        height, width, min(patch_size, height), min(patch_size, width), auto_slice_resolution=False,
        overlap_height_ratio=overlap, overlap_width_ratio=overlap)]


def shift_and_clip(dets: Detections, offset: tuple[int, int], image_hw: tuple[int, int]) -> Detections:
    """Patch coordinates -> image coordinates, clipped to the image; boxes left with no area are dropped.

    (sahi's ``shift_bboxes`` crashes on a negative coordinate; here it is simply clipped.)
    """
    if not len(dets):
        return dets
    boxes = dets.boxes + np.array([offset[0], offset[1], offset[0], offset[1]], np.float32)
    h, w = image_hw
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return Detections(boxes[keep], dets.scores[keep], dets.labels[keep])


def merge(dets: Detections, merge_type: str = 'nms', metric: str = 'iou', iou_thr: float = 0.25,
          classes: tuple = ()) -> Detections:
    """Merge the detections of overlapping patches, per class."""
    check_merge(merge_type, metric, iou_thr)
    if not len(dets):
        return dets
    if merge_type in ('nms', 'soft_nms') and metric == 'iou':
        from mmcv.ops import batched_nms
        boxes, keep = batched_nms(torch.from_numpy(dets.boxes), torch.from_numpy(dets.scores),
                                  torch.from_numpy(dets.labels), dict(type=merge_type, iou_threshold=iou_thr))
        out = dets.select(keep.numpy())
        out.scores = boxes[:, 4].numpy().astype(np.float32)  # soft-NMS lowers scores
        return out
    preds = np.concatenate([dets.boxes, dets.scores[:, None], dets.labels[:, None].astype(np.float32)], 1)
    if merge_type == 'nms':  # intersection over the smaller box: sahi's NMS knows it, mmcv's does not
        from sahi.postprocess.combine import batched_nms
        return dets.select(np.asarray(batched_nms(preds, 'IOS', iou_thr), np.int64))
    return _sahi_merge(dets, merge_type, metric.upper(), iou_thr, classes)


def _sahi_merge(dets: Detections, merge_type: str, metric: str, thr: float, classes: tuple) -> Detections:
    from sahi.postprocess.combine import GreedyNMMPostprocess, NMMPostprocess
    from sahi.prediction import ObjectPrediction
    post = (NMMPostprocess if merge_type == 'nmm' else GreedyNMMPostprocess)(
        match_threshold=thr, match_metric=metric, class_agnostic=False)
    preds = [ObjectPrediction(bbox=b.tolist(), category_id=int(l), score=float(s),
                              category_name=classes[l] if l < len(classes) else str(l))
             for b, s, l in zip(dets.boxes, dets.scores, dets.labels)]
    merged = post(preds)
    if not merged:
        return Detections.empty()
    return Detections(np.array([p.bbox.to_xyxy() for p in merged], np.float32),
                      np.array([p.score.value for p in merged], np.float32),
                      np.array([p.category.id for p in merged], np.int64))


class SlicedPredictor:
    """Runs a detector over the patches of a large image, ``batch_size`` patches per forward pass."""

    def __init__(self, runner, patch_size: int = 640, overlap: float = 0.25, batch_size: int = 1,
                 score_thr: float = 0.3):
        check_slicing(patch_size, overlap, batch_size)
        self.runner, self.patch_size, self.overlap = runner, patch_size, overlap
        self.batch_size, self.score_thr = batch_size, score_thr

    def windows(self, height: int, width: int):
        return slice_grid(height, width, self.patch_size, self.overlap)

    def predict_patches(self, read, height: int, width: int, on_batch=None,
                        windows=None) -> tuple[Detections, list]:
        """``read(x1, y1, x2, y2)`` gives a patch (a view of a decoded image, or a window of a file).

        Returns all patch detections in image coordinates (not merged) and the windows.
        """
        windows = windows or self.windows(height, width)
        parts = []
        for start in range(0, len(windows), self.batch_size):
            batch = windows[start:start + self.batch_size]
            patches = [np.ascontiguousarray(read(*win)) for win in batch]
            for win, result in zip(batch, self.runner.infer(patches)):
                dets = Detections.from_instances(result.pred_instances, self.score_thr)
                parts.append(shift_and_clip(dets, (win[0], win[1]), (height, width)))
            if on_batch:
                on_batch(len(batch))
        return Detections.concat(parts), windows
