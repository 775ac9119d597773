"""MMDetection's dense one-stage heads (RetinaNet, FCOS, ATSS, GFL, TOOD, RTMDet, YOLOX, ...): one path for
every head that decodes per-level maps over priors.

The head's forward gives per-level class maps, box maps and, for some heads, a score factor (FCOS/ATSS
centerness, YOLOX objectness); ``BaseDenseHead._predict_by_feat_single`` turns each prior into class
probabilities (sigmoid, or softmax without the background), multiplies the sigmoid of the factor in
(``_bbox_post_process``) and decodes the box from the prior with the head's box coder. That is done here for
every prior at once, batch first, keeping each prior's index. Three heads decode their own way and are
mirrored where they differ: GFL (the box is the integral of a distribution, from the anchor centre), TOOD
(its forward already gives probabilities and boxes in stride units) and YOLOX (priors with strides, its own
box decoding, objectness). A head that overrides the decoding in any other way is not a dense kind here.
"""
from __future__ import annotations

import torch

from .base import BoxScores


def _own_decoders():
    from mmdet.models.dense_heads import GFLHead, TOODHead, YOLOXHead
    return (TOODHead, GFLHead, YOLOXHead)


def decodes_over_priors(head) -> bool:
    """True for a head whose predictions are decoded by BaseDenseHead's predict_by_feat, or by one of the
    decoders mirrored here, unchanged by its own class."""
    from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
    if not isinstance(head, BaseDenseHead) or not hasattr(head, 'prior_generator'):
        return False
    cls = type(head)
    for base in (*_own_decoders(), BaseDenseHead):
        if isinstance(head, base):
            return (cls._predict_by_feat_single is base._predict_by_feat_single
                    and cls.predict_by_feat is base.predict_by_feat)
    return False


class DenseScores(BoxScores):
    kind = 'dense'

    def __init__(self, detector):
        super().__init__(detector)
        tood, gfl, yolox = _own_decoders()
        head = detector.bbox_head
        self.style = 'tood' if isinstance(head, tood) else 'gfl' if isinstance(head, gfl) else \
            'yolox' if isinstance(head, yolox) else 'base'

    def _probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        head = self.detector.bbox_head
        if self.style == 'tood':  # TOODHead.forward already gives the task-aligned probabilities
            return logits
        if getattr(head.loss_cls, 'custom_cls_channels', False):
            return head.loss_cls.get_activation(logits)
        if head.use_sigmoid_cls:
            return logits.sigmoid()
        return logits.softmax(-1)[..., :-1]

    def _boxes(self, priors: torch.Tensor, pred: torch.Tensor, stride, b: int) -> torch.Tensor:
        """One level: priors (P, 2 or 4), pred (B, P, D) -> boxes (B, P, 4) in input pixels."""
        head = self.detector.bbox_head
        h, w = self.img_shape()
        if self.style == 'yolox':
            return head._bbox_decode(priors, pred)
        if self.style == 'tood':
            return pred * stride[0]
        flat_priors = priors.repeat(b, 1)
        flat = pred.reshape(b * len(priors), -1)
        if self.style == 'gfl':
            flat = head.integral(flat) * stride[0]
            flat_priors = head.anchor_center(flat_priors)
        boxes = head.bbox_coder.decode(flat_priors, flat, max_shape=(h, w))
        return boxes.reshape(b, len(priors), 4)

    def head(self, feats):
        head = self.detector.bbox_head
        outs = head(tuple(feats))
        cls_scores, bbox_preds = outs[0], outs[1]
        factors = outs[2] if len(outs) > 2 and outs[2] is not None and outs[2][0] is not None else None
        b = cls_scores[0].shape[0]
        sizes = [c.shape[-2:] for c in cls_scores]
        extra = dict(with_stride=True) if self.style == 'yolox' else {}  # as YOLOXHead.predict_by_feat
        priors = head.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device,
                                                  **extra)
        scores, boxes = [], []
        for level, (cls, pred) in enumerate(zip(cls_scores, bbox_preds)):
            s = self._probabilities(cls.permute(0, 2, 3, 1).reshape(b, -1, head.cls_out_channels))
            if factors is not None:  # centerness / objectness, multiplied in after the sigmoid
                s = s * factors[level].permute(0, 2, 3, 1).reshape(b, -1, 1).sigmoid()
            scores.append(s)
            pred = pred.permute(0, 2, 3, 1).reshape(b, s.shape[1], -1)
            boxes.append(self._boxes(priors[level], pred, head.prior_generator.strides[level], b))
        return torch.cat(scores, 1), torch.cat(boxes, 1)
