"""Does a detector depend on the pixels a box's map ranks first? Deletion, insertion (``cam.faithfulness``) and
ROAD (pytorch-grad-cam's ``ROADCombined``) for box maps, over the network input of one picture.

- The perturbed inputs go through the backbone, neck and head only (``DetectorScores.decode``: no test
  pipeline, no NMS), in batches; the letterbox padding never changes (the maps are placed on the input
  through the letterbox meta, ``geometry.maps_to_input``).
- A point's score (deletion, insertion) is that of ODAM's evaluation: the highest score, before NMS, of the
  predictions of the reference's class whose box overlaps the reference box by IoU > 0.5 (0 if none),
  divided by the same on the untouched input.
- ROAD uses the box's own target, the score of the prior the box came from (the target its map explains):
  pytorch-grad-cam's classes run as they are on ``DetectorScores`` (input -> per-prior scores) with
  ``BoxScoreTarget``; only the maps are prepared (placed on the input, ties broken by a seeded trace of
  noise, the padding ranked last).
"""
from __future__ import annotations

import numpy as np
import torch

from ..cam.faithfulness import (BASELINES, ROAD_PERCENTILES, Protocol, baseline_maps, faithfulness_curves,
                                input_value_range, ranking, road_combined, road_maps)
from ..models.capture import without_forward_hooks
from ..models.geometry import maps_to_input, to_input_coords
from .base import box_iou
from .scores import BoxScoreTarget, DetectorScores

CURVE_METRICS = ('deletion', 'insertion')


class DetectorFaithfulness:
    """Deletion / insertion / ROAD of box maps on the picture ``BoxAM.run`` explained."""

    def __init__(self, wrapper: DetectorScores, data_preprocessor=None, protocol: Protocol = Protocol(),
                 batch_size: int = 16, iou_thr: float = 0.5, road_percentiles=ROAD_PERCENTILES):
        self.wrapper, self.protocol, self.batch_size, self.iou_thr = wrapper, protocol, batch_size, iou_thr
        self.value_range = input_value_range(data_preprocessor)
        self.road_percentiles = tuple(road_percentiles)

    def score_fn(self, boxes_in: torch.Tensor, labels: torch.Tensor, meta=None):
        """images (B, 3, h, w) -> (B, K): per reference, the best pre-NMS score of its class among the
        predictions overlapping it by IoU > iou_thr (0 if none). The predicted boxes are clipped to the
        picture inside the letterbox (``meta``), as the detector's own post-processing clips them."""
        clip = None
        if meta is not None:
            top, left, ch, cw = meta.content_tlhw
            clip = torch.tensor([left, top, left + cw, top + ch], dtype=torch.float32)

        def score(images):
            with without_forward_hooks(self.wrapper):  # (CAM hooks would keep every batch's activations)
                scores, boxes = self.wrapper.decode(images)  # (B, N, C), (B, N, 4)
            if clip is not None:
                c = clip.to(boxes)
                boxes = torch.maximum(torch.minimum(boxes, c[[2, 3, 2, 3]]), c[[0, 1, 0, 1]])
            ious = box_iou(boxes_in.to(boxes), boxes)  # (B, K, N)
            cls = scores[:, :, labels.to(scores.device).long()].transpose(1, 2)  # (B, K, N)
            return (cls * (ious > self.iou_thr)).amax(2)
        return score

    def measure(self, res, maps: np.ndarray, ref_boxes: np.ndarray, which, metrics) -> list[dict]:
        """For the boxes ``which`` (indices into ``res``) with reference boxes ``ref_boxes`` (len(which), 4)
        (original-image pixels; their own boxes in the demos, matched ground truth in an evaluation) and maps
        ``maps`` (len(which), H, W) on the original image: one dict per box with ``deletion`` / ``insertion``
        curves and AUCs and ``road``, as asked by ``metrics``."""
        which = list(which)
        rows = [dict() for _ in which]
        if not which:
            return rows
        in_maps, valid = maps_to_input(maps, res.meta)
        refs_in = torch.from_numpy(to_input_coords(np.asarray(ref_boxes, np.float32).reshape(-1, 4), res.meta))
        labels = torch.as_tensor(res.labels[which]).long()
        modes = [m for m in CURVE_METRICS if m in metrics]
        image = res.inputs[0]
        if modes:
            wh = (refs_in[:, 2:] - refs_in[:, :2]).clamp(min=0)
            areas = (wh[:, 0] * wh[:, 1]).tolist()
            orders = [ranking(in_maps[k], valid, self.protocol.seed + k) for k in range(len(which))]
            curves = faithfulness_curves(image, in_maps, areas, self.score_fn(refs_in, labels, res.meta), self.value_range,
                                         self.protocol, valid, modes, self.batch_size, orders)
            for k, row in enumerate(rows):
                one = curves.box(k)
                one.pop('fractions')
                row.update(one)
        if 'road' in metrics:
            targets = [BoxScoreTarget(res.priors[i], res.labels[i]) for i in which]
            with without_forward_hooks(self.wrapper):
                values = road_combined(self.wrapper, res.inputs, road_maps(in_maps, valid, self.protocol.seed), targets,
                                       self.road_percentiles, self.batch_size, self.protocol.seed)
            for row, v in zip(rows, values):
                row['road'] = float(v)
        return rows

    def baselines(self, res, ref_boxes: np.ndarray, which, metrics, kinds=BASELINES) -> dict[str, list[dict]]:
        """The same measures of maps that know nothing of the model, on the same boxes."""
        hw = res.maps.shape[1:] if res.maps.ndim == 3 else res.meta.ori_hw
        return {kind: self.measure(res, baseline_maps(kind, hw, ref_boxes, self.protocol.seed), ref_boxes, which,
                                   metrics) for kind in kinds}
