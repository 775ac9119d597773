"""Does a classifier depend on the pixels a class map ranks first? Deletion, insertion and ROAD
(``cam.faithfulness``) of class maps on the network input, the whole input the reference: each step changes
1 % of it, and a point's score is the class's softmax probability over that of the untouched input. ROAD
runs pytorch-grad-cam's ``ROADCombined`` with its ``ClassifierOutputSoftmaxTarget`` (the probability, as the
curves score; the maps explain the logit, whose ranking of the pixels is the same)."""
from __future__ import annotations

import numpy as np
import torch

from ..cam.faithfulness import (BASELINES, ROAD_PERCENTILES, Protocol, baseline_maps, faithfulness_curves,
                                input_value_range, road_combined, road_maps)
from ..models.capture import without_forward_hooks
from ..models.classifier import LogitsModel

CURVE_METRICS = ('deletion', 'insertion')


def crop_box(box, meta) -> np.ndarray:
    """An original-image xyxy box -> network-input pixels, through the classifier's resize and crop."""
    x1, y1, x2, y2 = box
    return np.array([(x1 - meta.bx) / meta.ax, (y1 - meta.by) / meta.ay,
                     (x2 - meta.bx) / meta.ax, (y2 - meta.by) / meta.ay], np.float64)


class ClassifierFaithfulness:
    def __init__(self, runner, protocol: Protocol = Protocol(), batch_size: int = 16,
                 road_percentiles=ROAD_PERCENTILES):
        self.model = LogitsModel(runner.model)
        self.value_range = input_value_range(getattr(runner.model, 'data_preprocessor', None))
        self.protocol, self.batch_size, self.road_percentiles = protocol, batch_size, tuple(road_percentiles)

    def score_fn(self, categories):
        cats = torch.as_tensor(list(categories)).long()

        def score(images):
            with without_forward_hooks(self.model):  # (CAM hooks would keep every batch's activations)
                return torch.softmax(self.model(images), 1)[:, cats.to(images.device)]
        return score

    def measure(self, inputs: torch.Tensor, maps: np.ndarray, categories, metrics) -> list[dict]:
        """K maps (K, h, w) on the input (1, 3, h, w), one per category: per map a dict of deletion /
        insertion curves and AUCs and ROAD, as ``metrics`` asks."""
        categories = [int(c) for c in categories]
        rows = [dict() for _ in categories]
        if not categories:
            return rows
        h, w = inputs.shape[2:]
        modes = [m for m in CURVE_METRICS if m in metrics]
        if modes:
            curves = faithfulness_curves(inputs[0], np.asarray(maps), [h * w] * len(categories),
                                         self.score_fn(categories), self.value_range, self.protocol, None, modes,
                                         self.batch_size)
            for k, row in enumerate(rows):
                one = curves.box(k)
                one.pop('fractions')
                row.update(one)
        if 'road' in metrics:
            from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
            with without_forward_hooks(self.model):
                values = road_combined(self.model, inputs, road_maps(np.asarray(maps), None, self.protocol.seed),
                                       [ClassifierOutputSoftmaxTarget(c) for c in categories],
                                       self.road_percentiles, self.batch_size, self.protocol.seed)
            for row, v in zip(rows, values):
                row['road'] = float(v)
        return rows

    def baselines(self, inputs: torch.Tensor, categories, metrics, boxes=None, kinds=BASELINES) -> dict:
        """The same measures of maps that know nothing of the model: a random map, and the box (default: the
        whole input) as a map and a Gaussian on it; ``boxes`` (K, 4) in input pixels, e.g. the object's."""
        h, w = inputs.shape[2:]
        boxes = np.tile([0, 0, w, h], (len(categories), 1)) if boxes is None else np.asarray(boxes).reshape(-1, 4)
        return {kind: self.measure(inputs, baseline_maps(kind, (h, w), boxes, self.protocol.seed), categories,
                                   metrics) for kind in kinds}
