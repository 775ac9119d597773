"""DETR-family detectors (DETR, Conditional DETR, DAB-DETR, Deformable DETR, DINO): one candidate per query.

The transformer runs as ``DetectionTransformer.predict`` runs it (``forward_transformer`` on the neck
outputs and the image's data samples); the head's own ``predict`` then runs up to its ``predict_by_feat``,
whose inputs (every decoder layer's class logits and boxes) are taken instead of its top-k: so every DETR
head's own forward signature is served by one path. The last layer's logits become probabilities as
``DETRHead._predict_by_feat_single`` makes them (sigmoid where the classification loss is sigmoid-based:
Deformable DETR, DINO, Conditional and DAB-DETR; softmax without the "no object" class for DETR), its
normalised (cx, cy, w, h) boxes input pixels, clipped to the image.
"""
from __future__ import annotations

import torch

from .base import BoxScores


class _Taken(Exception):
    pass


class DETRScores(BoxScores):
    kind = 'detr'

    def head(self, feats):
        from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
        b = feats[0].shape[0]
        samples = self.samples * b
        detector, head = self.detector, self.detector.bbox_head
        head_inputs = detector.forward_transformer(tuple(feats), samples)
        taken = {}

        def take(*outs, **kwargs):
            taken['outs'] = outs
            raise _Taken  # no top-k, no boxes to rescale

        head.predict_by_feat = take
        try:
            head.predict(**head_inputs, rescale=False, batch_data_samples=samples)
        except _Taken:
            pass
        finally:
            del head.predict_by_feat
        logits, boxes = taken['outs'][0][-1], taken['outs'][1][-1]  # the last decoder layer: (B, Q, C), (B, Q, 4)
        scores = logits.sigmoid() if head.loss_cls.use_sigmoid else logits.softmax(-1)[..., :-1]
        h, w = self.img_shape()
        xyxy = bbox_cxcywh_to_xyxy(boxes) * boxes.new_tensor([w, h, w, h])
        xyxy = torch.stack([xyxy[..., 0].clamp(0, w), xyxy[..., 1].clamp(0, h),
                            xyxy[..., 2].clamp(0, w), xyxy[..., 3].clamp(0, h)], -1)
        return scores, xyxy
