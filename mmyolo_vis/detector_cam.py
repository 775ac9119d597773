"""A YOLO-family detector seen as pytorch-grad-cam expects a model: input tensor in, per-image outputs
out, and targets that turn one image's output into one scalar.

Outputs are the head's raw predictions decoded for every prior (anchor point), exactly as MMYOLO's
``YOLOv5Head.predict_by_feat`` does before thresholds and NMS: ``scores`` (B, N, C) = class probability
(times objectness where the family has one) and ``boxes`` (B, N, 4) in network-input pixels.

The map for a box explains that box: its target is the score of the prior that became the box, for the
box's class (the prior is found by matching the final detection against the decoded predictions).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from .errors import UserError

# head class name -> family name; objectness: the head predicts it (scores multiply by it)
FAMILIES = {
    'YOLOv5Head': ('yolov5', True),
    'YOLOv6Head': ('yolov6', False),
    'YOLOv7Head': ('yolov7', True),
    'YOLOv8Head': ('yolov8', False),
    'YOLOXHead': ('yolox', True),
    'RTMDetHead': ('rtmdet', False),
    'PPYOLOEHead': ('ppyoloe', False),
}


def detector_family(model: nn.Module) -> tuple[str, bool]:
    """The family of a detector, from its head's class (never from a file name)."""
    head = getattr(model, 'bbox_head', None)
    name = type(head).__name__
    if name in FAMILIES:
        return FAMILIES[name]
    for cls in type(head).__mro__[1:]:  # a subclass of a known head decodes like it
        if cls.__name__ in FAMILIES and cls.__name__ != 'YOLOv5Head':
            return FAMILIES[cls.__name__]
    raise UserError(f'box activation maps support the heads {", ".join(FAMILIES)}; this model has {name}')


def default_target_layers(model: nn.Module) -> list[str]:
    """The neck's outputs (one per pyramid level)."""
    out_layers = getattr(getattr(model, 'neck', None), 'out_layers', None)
    if out_layers is None:
        raise UserError('this model has no neck.out_layers: give --target-layers')
    return [f'neck.out_layers[{i}]' for i in range(len(out_layers))]


class DetectorScores(nn.Module):
    """``forward(inputs) -> scores (B, N, C)``; ``decode`` also gives the boxes."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector
        self.family, self.objectness = detector_family(detector)
        self.neck_feats: tuple | None = None  # the last forward's neck outputs (for fast ablation)
        self.last_boxes: torch.Tensor | None = None

    def features(self, inputs: torch.Tensor) -> tuple:
        feats = self.detector.backbone(inputs)
        return self.detector.neck(feats) if getattr(self.detector, 'with_neck', True) else feats

    def head(self, feats) -> tuple[torch.Tensor, torch.Tensor]:
        """Neck outputs -> (scores (B, N, C), boxes (B, N, 4)), as the head decodes them."""
        head = self.detector.bbox_head
        outs = head(tuple(feats))
        cls_scores, bbox_preds = outs[0], outs[1]
        objectnesses = outs[2] if self.objectness and len(outs) > 2 else None
        b = cls_scores[0].shape[0]
        sizes = [c.shape[2:] for c in cls_scores]
        priors = torch.cat(head.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype,
                                                            device=cls_scores[0].device))
        strides = torch.cat([priors.new_full((s.numel() * head.num_base_priors,), st)
                             for s, st in zip(sizes, head.featmap_strides)])
        preds = torch.cat([p.permute(0, 2, 3, 1).reshape(b, -1, 4) for p in bbox_preds], 1)
        boxes = head.bbox_coder.decode(priors[None], preds, strides)
        return self._scores(cls_scores, objectnesses), boxes

    def _scores(self, cls_scores, objectnesses=None) -> torch.Tensor:
        """The head's raw class (and objectness) maps of some levels -> scores (B, N, C) of their priors."""
        b, num_classes = cls_scores[0].shape[0], self.detector.bbox_head.num_classes
        scores = torch.cat([c.permute(0, 2, 3, 1).reshape(b, -1, num_classes) for c in cls_scores], 1).sigmoid()
        if objectnesses is not None:
            obj = torch.cat([o.permute(0, 2, 3, 1).reshape(b, -1) for o in objectnesses], 1).sigmoid()
            scores = scores * obj[..., None]
        return scores

    def level_priors(self, feats) -> list[range]:
        """The prior indices (into ``head``'s N) of each pyramid level, for these neck outputs."""
        per_cell = self.detector.bbox_head.num_base_priors
        ranges, start = [], 0
        for f in feats:
            n = f.shape[2] * f.shape[3] * per_cell
            ranges.append(range(start, start + n))
            start += n
        return ranges

    def level_scores(self, feat: torch.Tensor, level: int, feats, priors: torch.Tensor,
                     labels: torch.Tensor) -> torch.Tensor:
        """Scores (n, K) of K priors of one level (indices within the level) for their classes, from a batch
        ``feat`` (n, ...) of that level's neck output; ``feats`` are the image's neck outputs (for shapes).

        Every family's head scores a level from that level's features alone (per-level branches, or one
        branch applied per level), so the other levels go in as 1x1 placeholders and are not looked at:
        the head costs one level, not three. Only the K needed logits go through the sigmoid: the same
        values as ``head``'s (B, N, C) scores, whose prior index is (cell * priors per cell + anchor)."""
        n = feat.shape[0]
        placeholder = [feat if i == level else f.new_zeros(n, f.shape[1], 1, 1) for i, f in enumerate(feats)]
        outs = self.detector.bbox_head(tuple(placeholder))
        head = self.detector.bbox_head
        cell, anchor = priors // head.num_base_priors, priors % head.num_base_priors
        scores = outs[0][level].flatten(2)[:, anchor * head.num_classes + labels, cell].sigmoid()
        if self.objectness and len(outs) > 2:
            scores = scores * outs[2][level].flatten(2)[:, anchor, cell].sigmoid()
        return scores

    def decode(self, inputs: torch.Tensor):
        feats = self.features(inputs)
        self.neck_feats = tuple(f.detach() for f in feats)
        return self.head(feats)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        scores, boxes = self.decode(inputs)
        self.last_boxes = boxes.detach()
        return scores


class BoxScoreTarget:
    """One scalar per image: the score of prior ``prior`` for class ``label``.

    ``reach_every_layer``: add 0 x every score, so that the backward pass reaches every pyramid level and
    a level this box does not depend on (a coarser one than its prior's) gets a zero gradient instead of
    none: pytorch-grad-cam fails on a target layer whose gradient never arrives."""

    def __init__(self, prior: int, label: int, reach_every_layer: bool = False):
        self.prior, self.label = int(prior), int(label)
        self.reach_every_layer = reach_every_layer

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        score = output[self.prior, self.label]
        return score + 0 * output.sum() if self.reach_every_layer else score


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of (K, 4) boxes against (..., N, 4) boxes -> (..., K, N)."""
    lt = torch.maximum(a[:, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[..., None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[..., None, :] - inter + 1e-9)


def match_priors(scores: torch.Tensor, boxes: torch.Tensor, det_boxes: torch.Tensor, det_labels: torch.Tensor,
                 det_scores: torch.Tensor) -> list[int]:
    """For each detection (boxes in network-input pixels), the prior it came from: among the priors whose
    score for the detection's class equals the detection's score, the one whose box overlaps it most."""
    priors = []
    ious = box_iou(det_boxes, boxes)  # (K, N)
    for k in range(len(det_boxes)):
        s = scores[:, int(det_labels[k])]
        agree = (s - det_scores[k]).abs() <= 1e-3 * max(1.0, float(det_scores[k]))
        quality = ious[k] * agree + ious[k] * s * 1e-3  # exact score matches first, then overlap x score
        priors.append(int(torch.argmax(quality)))
    return priors


def to_input_coords(boxes: np.ndarray, meta) -> np.ndarray:
    """Original-image boxes -> network-input boxes, through the letterbox meta."""
    top, left, ch, cw = meta.content_tlhw
    sx, sy = cw / meta.ori_hw[1], ch / meta.ori_hw[0]
    return boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([left, top, left, top], np.float32)
