"""Where the 'class score' labels of detections go, so that they stay readable in dense scenes.

A label is sized to its box and to the picture, and tried at a few places around the box's top-left corner
(above it, inside it, below it, at the right edge). The first place that lies inside the picture and covers
no label placed before and no other box is taken; a label that has none is dropped, its box stays.
Labels are placed most confident first. Pure functions on arrays: the drawing is the visualizer's.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
PAD = 2  # pixels around the text inside the label's filled rectangle


@dataclass
class Label:
    index: int  # the detection's index
    text: str
    x1: int  # the filled rectangle, image pixels, x2/y2 exclusive
    y1: int
    x2: int
    y2: int
    font_scale: float
    baseline: int

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return self.x1, self.y1, self.x2, self.y2


def font_scale_for(box_h: float, image_hw: tuple[int, int]) -> float:
    """Text height about a third of the box, at least 8 px (readable), at most 1/45 of the picture's short
    side (and 20 px): a label never dwarfs its object nor the picture."""
    cap = min(20.0, max(10.0, min(image_hw) / 45))
    text_h = float(np.clip(box_h / 3, 8.0, cap))
    (_, h1), _ = cv2.getTextSize('Ag', FONT, 1.0, 1)  # text height at scale 1
    return text_h / h1


def _overlap_area(rect, others: np.ndarray) -> float:
    if not len(others):
        return 0.0
    x1, y1, x2, y2 = rect
    w = np.clip(np.minimum(x2, others[:, 2]) - np.maximum(x1, others[:, 0]), 0, None)
    h = np.clip(np.minimum(y2, others[:, 3]) - np.maximum(y1, others[:, 1]), 0, None)
    return float((w * h).sum())


def plan_labels(boxes: np.ndarray, texts: list[str], image_hw: tuple[int, int],
                priority: np.ndarray | None = None) -> list[Label]:
    """Labels for ``boxes`` (N, 4) xyxy with ``texts``; placed in ``priority`` order (highest first),
    none covering another label or another box. Returns the placed labels (some may be dropped)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    h, w = image_hw
    order = np.argsort(-np.asarray(priority), kind='stable') if priority is not None else range(len(boxes))
    placed: list[Label] = []
    taken = np.zeros((0, 4), np.float32)
    for i in order:
        x1, y1, x2, y2 = boxes[i]
        scale = font_scale_for(y2 - y1, image_hw)
        (tw, th), base = cv2.getTextSize(texts[i], FONT, scale, 1)
        lw, lh = tw + 2 * PAD, th + base + 2 * PAD
        bx1, by1, bx2, by2 = int(round(x1)), int(round(y1)), int(round(x2)), int(round(y2))
        candidates = [(bx1, by1 - lh), (bx1, by1), (bx1, by2), (bx2 - lw, by1 - lh), (bx2 - lw, by2)]
        others = np.delete(boxes, i, axis=0)
        for cx, cy in candidates:
            rect = (cx, cy, cx + lw, cy + lh)
            if cx < 0 or cy < 0 or rect[2] > w or rect[3] > h:
                continue
            if _overlap_area(rect, taken) > 0 or _overlap_area(rect, others) > 0:
                continue
            placed.append(Label(int(i), texts[i], *rect, scale, base))
            taken = np.vstack([taken, np.array([rect], np.float32)])
            break
    return placed


def label_overlap_share(labels: list[Label], boxes: np.ndarray) -> float:
    """The share of the labels' area that lies over another label or over a box other than the label's own
    (union over those: a pixel counts once)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    total = covered = 0
    for k, lab in enumerate(labels):
        x1, y1, x2, y2 = lab.rect
        mask = np.zeros((y2 - y1, x2 - x1), bool)
        rects = [o.rect for j, o in enumerate(labels) if j != k] + [b for j, b in enumerate(boxes) if j != lab.index]
        for ox1, oy1, ox2, oy2 in rects:
            ix1, iy1 = max(x1, int(np.floor(ox1))), max(y1, int(np.floor(oy1)))
            ix2, iy2 = min(x2, int(np.ceil(ox2))), min(y2, int(np.ceil(oy2)))
            if ix2 > ix1 and iy2 > iy1:
                mask[iy1 - y1:iy2 - y1, ix1 - x1:ix2 - x1] = True
        total += mask.size
        covered += int(mask.sum())
    return covered / total if total else 0.0
