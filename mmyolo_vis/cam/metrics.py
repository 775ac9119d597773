"""Does a map point at the object? Measures of one map against one box, for any model's maps."""
from __future__ import annotations

import numpy as np


def pointing_hit(saliency: np.ndarray, box, tolerance: float = 15.0) -> bool:
    """The map's maximum lies inside the box grown by ``tolerance`` pixels."""
    y, x = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
    x1, y1, x2, y2 = box
    return x1 - tolerance <= x <= x2 + tolerance and y1 - tolerance <= y <= y2 + tolerance


def energy_in_box(saliency: np.ndarray, box) -> float:
    """The share of the map's mass inside the box."""
    total = float(saliency.sum())
    if total <= 0:
        return 0.0
    h, w = saliency.shape
    x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return float(saliency[y1:y2, x1:x2].sum()) / total
