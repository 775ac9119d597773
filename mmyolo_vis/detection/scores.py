"""A YOLO-family detector seen as pytorch-grad-cam expects a model: input tensor in, per-image outputs
out, and targets that turn one image's output into one scalar.

Outputs are the head's raw predictions decoded for every prior (anchor point), exactly as MMYOLO's
``YOLOv5Head.predict_by_feat`` does before thresholds and NMS: ``scores`` (B, N, C) = class probability
(times objectness where the family has one) and ``boxes`` (B, N, 4) in network-input pixels.

The map for a box explains that box: its target is the score of the prior that became the box, for the
box's class (the prior is found by matching the final detection against the decoded predictions).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..core.errors import UserError
from .base import BoxScores, box_iou  # noqa: F401  (box_iou: read from here by earlier callers)

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


class DetectorScores(BoxScores):
    """``forward(inputs) -> scores (B, N, C)``; ``decode`` also gives the boxes. The ``yolo`` kind of
    ``kinds``."""

    kind = 'yolo'

    def __init__(self, detector: nn.Module):
        super().__init__(detector)
        self.family, self.objectness = detector_family(detector)
        self._radius: dict = {}  # (level, channels) -> head_radius

    def prepare(self, data: dict, feats) -> None:
        """Nothing to fix from the first pass: every prior is scored from the picture alone."""

    def match(self, scores, boxes, det_boxes, det_labels, det_scores) -> list[int]:
        return match_priors(scores, boxes, det_boxes, det_labels, det_scores)

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

    def head_radius(self, level: int, feats, probe: int = 6) -> int | None:
        """How many cells away a change of this level's neck output can still change the head's output at a
        cell (0 for a 1x1-convolution head such as YOLOv5's, 2 after two 3x3 convolutions), measured once
        by perturbing the centre of a random map; None when the head looks further (PPYOLOE pools the whole
        level), so that every cell depends on every other."""
        key = (level, feats[level].shape[1])
        if key not in self._radius:
            c = feats[level].shape[1]
            size = 2 * probe + 1
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(2, c, size, size, generator=gen).to(feats[level])
            moved = x.clone()
            moved[:, :, probe, probe] += 1
            with torch.no_grad():
                outs = self._level_outputs(torch.cat([x, moved]), level, feats)
            changed = sum((o[:2] - o[2:]).abs().amax((0, 1)) for o in outs) > 0  # (size, size)
            ys, xs = torch.nonzero(changed, as_tuple=True)
            radius = int(max((ys - probe).abs().max(), (xs - probe).abs().max())) if len(ys) else 0
            self._radius[key] = radius if radius < probe else None
        return self._radius[key]

    def _level_outputs(self, feat: torch.Tensor, level: int, feats) -> list[torch.Tensor]:
        """The head's raw class (and objectness) maps of one level, from a batch ``feat`` of that level's
        neck output alone. Every family's head scores a level from that level's features (per-level
        branches, or one branch applied per level), so the other levels go in as 1x1 placeholders of a
        batch of one."""
        placeholder = [feat if i == level else f.new_zeros(1, f.shape[1], 1, 1) for i, f in enumerate(feats)]
        outs = self.detector.bbox_head(tuple(placeholder))
        return [outs[0][level]] + ([outs[2][level]] if self.objectness and len(outs) > 2 else [])

    def cells_per_copy(self, level: int, feats, k: int) -> int:
        """Cells of this level's map that ``level_scores`` runs the head on per ablated copy, for k priors."""
        h, w = feats[level].shape[2:]
        radius = self.head_radius(level, feats)
        if radius is None:
            return h * w
        return min(h * w, k * min(h, 2 * radius + 1) * min(w, 2 * radius + 1))

    def level_scores(self, level: int, feats, priors: torch.Tensor, labels: torch.Tensor,
                     ablate: torch.Tensor | None = None) -> torch.Tensor:
        """Scores (n, K) of K priors of one level (indices within the level) for their classes, from the
        image's neck outputs ``feats`` (batch of one): n = 1 as they are, or one row per channel of ``ablate``
        with that channel of the level's map set to zero.

        The same values as ``head``'s (B, N, C) scores, whose prior index is (cell * priors per cell + anchor),
        at a fraction of the cost: the head runs on the level alone, and where its reach is a few cells
        (``head_radius``) only on a window of that size around each prior's cell (a window at the map's edge
        is shifted inside it, so the head pads it where it pads the whole map); only the K needed logits go
        through the sigmoid."""
        head = self.detector.bbox_head
        feat = feats[level]
        _, c, h, w = feat.shape
        cell, anchor = priors // head.num_base_priors, priors % head.num_base_priors
        ys, xs = cell // w, cell % w
        channel = anchor * head.num_classes + labels
        radius = self.head_radius(level, feats)
        k = len(priors)
        if radius is None:  # the whole level
            ch, cw, y0, x0 = h, w, torch.zeros_like(ys), torch.zeros_like(xs)
            windows = feat  # (1, C, H, W), one "window" shared by the K priors
        else:
            ch, cw = min(h, 2 * radius + 1), min(w, 2 * radius + 1)
            y0 = (ys - radius).clamp(0, h - ch)
            x0 = (xs - radius).clamp(0, w - cw)
            rows = y0[:, None] + torch.arange(ch, device=feat.device)  # (K, ch)
            cols = x0[:, None] + torch.arange(cw, device=feat.device)  # (K, cw)
            windows = feat[0][:, rows[:, :, None], cols[:, None, :]].transpose(0, 1)  # (K, C, ch, cw)
        per_copy = len(windows)
        n = 1 if ablate is None else len(ablate)
        batch = windows.repeat(n, 1, 1, 1)  # (n * per_copy, C, ch, cw)
        if ablate is not None:
            batch.view(n, per_copy, c, ch, cw)[torch.arange(n, device=feat.device), :, ablate.to(feat.device)] = 0
        outs = self._level_outputs(batch, level, feats)
        which = torch.arange(k, device=feat.device) if per_copy == k else torch.zeros_like(ys)
        dy, dx = ys - y0, xs - x0
        logits = outs[0].view(n, per_copy, -1, ch, cw)[:, which, channel, dy, dx]
        scores = logits.sigmoid()
        if len(outs) > 1:
            scores = scores * outs[1].view(n, per_copy, -1, ch, cw)[:, which, anchor, dy, dx].sigmoid()
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

