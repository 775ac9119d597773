"""The one interface every detector kind offers to the box-map methods (pytorch-grad-cam's model contract):
``forward(inputs (B, 3, H, W)) -> scores (B, N, C)``, one row per candidate box (a prior of a dense head, a
RoI of a two-stage head, a query of a DETR head) with the probability the head gives each class, so that a
target ``(index, label)`` picks the value the detection's score came from.

A kind implements ``head(feats)``: neck outputs (batch B) -> (scores (B, N, C), boxes (B, N, 4) or
(B, N, C, 4) per class) in network-input pixels, as the head decodes them before thresholds and NMS. What a
kind fixes from the first pass of an image (a two-stage model's proposals, the data samples a DETR needs for
its masks) is set by ``prepare`` and repeated for every copy of the picture in a batch.
"""
from __future__ import annotations

import torch
import torch.nn as nn



class BoxScores(nn.Module):
    kind = ''

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector
        self.samples: list | None = None  # the image's data samples (metainfo), from ``prepare``
        self.neck_feats: tuple | None = None  # the last forward's neck outputs
        self.backbone_feats: tuple | None = None  # the last forward's backbone outputs (for the ablation reruns)
        self.last_boxes: torch.Tensor | None = None

    def prepare(self, data: dict, feats) -> None:
        """Fix what the kind keeps from the image's detection pass (``feats``: its neck outputs)."""
        self.samples = list(data['data_samples'])

    def metas(self, b: int) -> list[dict]:
        return [s.metainfo for s in self.samples] * b

    def img_shape(self) -> tuple[int, int]:
        return tuple(self.samples[0].metainfo['img_shape'][:2])

    def features(self, inputs: torch.Tensor) -> tuple:
        feats = self.detector.backbone(inputs)
        self.backbone_feats = tuple(f.detach() for f in feats)
        return tuple(self.detector.neck(feats)) if self.detector.with_neck else tuple(feats)

    def from_backbone(self, backbone_feats) -> torch.Tensor:
        """Scores (B, N, C) from backbone outputs: the neck and the head rerun, the backbone does not."""
        feats = self.detector.neck(tuple(backbone_feats)) if self.detector.with_neck else backbone_feats
        return self.head(tuple(feats))[0]

    def head(self, feats) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def decode(self, inputs: torch.Tensor):
        feats = self.features(inputs)
        self.neck_feats = tuple(f.detach() for f in feats)
        return self.head(feats)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        scores, boxes = self.decode(inputs)
        self.last_boxes = boxes.detach()
        return scores

    def match(self, scores, boxes, det_boxes, det_labels, det_scores) -> list[int]:
        return match_exact(scores, boxes, det_boxes, det_labels, det_scores)


def match_exact(scores: torch.Tensor, boxes: torch.Tensor, det_boxes: torch.Tensor, det_labels: torch.Tensor,
                det_scores: torch.Tensor) -> list[int]:
    """For each detection (boxes in network-input pixels), the candidate it came from: among the candidates
    whose score for the detection's class is the closest to the detection's score (to 1e-6), the one whose
    box (for that class, where the head regresses one per class) overlaps it most.
    scores (N, C); boxes (N, 4) or (N, C, 4)."""
    out = []
    for k in range(len(det_boxes)):
        label = int(det_labels[k])
        diff = (scores[:, label] - float(det_scores[k])).abs()
        close = diff <= diff.min() + 1e-6
        cand = boxes[:, label] if boxes.dim() == 3 else boxes
        iou = box_iou(det_boxes[k:k + 1].to(cand), cand)[0]
        out.append(int(torch.argmax(close * (1 + iou))))
    return out


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of (K, 4) boxes against (..., N, 4) boxes -> (..., K, N)."""
    lt = torch.maximum(a[:, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[..., None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[..., None, :] - inter + 1e-9)
