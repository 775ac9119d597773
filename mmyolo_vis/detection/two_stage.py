"""Two-stage detectors (Faster R-CNN, Mask R-CNN's box branch, Cascade R-CNN): one candidate per RoI.

The proposals are fixed from the image's first pass (the RPN's, as ``TwoStageDetector.predict`` makes them);
every forward then scores them again through the RoI head, so the gradient of a box's score flows through
RoIAlign into the neck and the backbone. The scores are those of ``BBoxHead._predict_by_feat_single``
without NMS (mmdet's own code, ``rcnn_test_cfg=None``): the softmax of the RoI head's logits, without the
background. Cascade R-CNN: the RoIs refined stage by stage and the logits averaged over the stages
(``CascadeRoIHead._refine_roi``), scored by the last stage's head, as its ``predict_bbox`` does.
"""
from __future__ import annotations

import torch

from .base import BoxScores


def supported_roi_head(roi_head) -> bool:
    from mmdet.models.roi_heads import CascadeRoIHead, StandardRoIHead
    if isinstance(roi_head, CascadeRoIHead):
        return type(roi_head)._refine_roi is CascadeRoIHead._refine_roi and \
            type(roi_head)._bbox_forward is CascadeRoIHead._bbox_forward
    return isinstance(roi_head, StandardRoIHead) and type(roi_head)._bbox_forward is StandardRoIHead._bbox_forward


class TwoStageScores(BoxScores):
    kind = 'two-stage'

    def __init__(self, detector):
        super().__init__(detector)
        from mmdet.models.roi_heads import CascadeRoIHead
        self.cascade = isinstance(detector.roi_head, CascadeRoIHead)
        self.proposals: list | None = None

    def prepare(self, data, feats):
        super().prepare(data, feats)
        with torch.no_grad():
            results = self.detector.rpn_head.predict(tuple(feats), self.samples, rescale=False)
        self.proposals = [r.bboxes.detach() for r in results]

    def head(self, feats):
        from mmdet.structures.bbox import bbox2roi
        b = feats[0].shape[0]
        proposals = self.proposals * b  # the image's proposals for every copy of it
        metas = self.metas(b)
        counts = tuple(len(p) for p in proposals)
        rois = bbox2roi(proposals)
        roi_head = self.detector.roi_head
        if self.cascade:
            rois, cls_scores, bbox_preds = roi_head._refine_roi(x=tuple(feats), rois=rois, batch_img_metas=metas,
                                                                num_proposals_per_img=counts)
            last = roi_head.bbox_head[-1]
        else:
            res = roi_head._bbox_forward(tuple(feats), rois)
            rois, cls_scores = rois.split(counts), res['cls_score'].split(counts)
            bbox_preds = res['bbox_pred'].split(counts)
            last = roi_head.bbox_head
        scores, boxes = [], []
        for roi, cls, pred, meta in zip(rois, cls_scores, bbox_preds, metas):
            out = last._predict_by_feat_single(roi=roi, cls_score=cls, bbox_pred=pred, img_meta=meta,
                                               rescale=False, rcnn_test_cfg=None)
            scores.append(out.scores[:, :last.num_classes])
            per_roi = out.bboxes.view(len(roi), -1, 4)
            boxes.append(per_roi[:, 0] if per_roi.shape[1] == 1 else per_roi)  # class-agnostic: one box
        return torch.stack(scores), torch.stack(boxes)
