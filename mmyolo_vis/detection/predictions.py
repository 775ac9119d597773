"""Any detector, seen through its own ``predict``: the candidates are its final detections (after NMS), each
scoring its class with its score and nothing else. Enough for D-RISE, which needs only predictions (a
masked picture's detections, their boxes and scores), on a detector of no kind ``kinds`` knows; the other
methods need the scores before NMS and refuse such a model."""
from __future__ import annotations

import torch

from .base import BoxScores


class PredictionScores(BoxScores):
    kind = 'predictions'

    def prepare(self, data, feats):
        super().prepare(data, feats)
        self.inputs = data['inputs']

    def head(self, feats):
        """The detections of the picture of ``prepare`` (the features are not enough for an unknown head)."""
        return self.decode(self.inputs)

    @torch.no_grad()
    def decode(self, inputs: torch.Tensor):
        """scores (B, M, C): zero but for each detection's class, which has its score; boxes (B, M, 4) in
        input pixels (M: the most detections of any copy; missing ones have zero score)."""
        results = self.detector.predict(inputs, self.samples * len(inputs), rescale=False)
        insts = [r.pred_instances for r in results]
        m = max(1, max(len(i) for i in insts))
        num_classes = max([getattr(getattr(self.detector, 'bbox_head', None), 'num_classes', 0) or 0,
                           *(int(i.labels.max()) + 1 for i in insts if len(i))])
        scores = inputs.new_zeros(len(inputs), m, num_classes)
        boxes = inputs.new_zeros(len(inputs), m, 4)
        for b, inst in enumerate(insts):
            n = len(inst)
            scores[b, torch.arange(n), inst.labels] = inst.scores.to(scores)
            boxes[b, :n] = inst.bboxes.to(boxes)
        return scores, boxes
