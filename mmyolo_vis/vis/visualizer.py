"""Rendering: heat maps (feature maps, box maps, class maps) over the image, detections with their labels,
and titled panels on one canvas, as a subclass of MMEngine's Visualizer.

Drawing goes through OpenCV rather than the base class's matplotlib canvas: a matplotlib round
trip costs tens of milliseconds per panel, more than the forward pass of a small YOLO on a CPU.
"""
from __future__ import annotations

import itertools
from typing import Sequence

import cv2
import numpy as np
import torch
from mmengine.registry import VISUALIZERS
from mmengine.visualization import Visualizer

from ..models.geometry import LetterboxMeta, align_to_image
from .reduce import check_display, grid_shape, select_maps, to_uint8

_ids = itertools.count()
# OpenCV's JET as an RGB lookup table (applyColorMap gives BGR)
_JET_RGB = cv2.cvtColor(cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET),
                        cv2.COLOR_BGR2RGB)


def overlay_heatmap(heat: np.ndarray, image_rgb: np.ndarray, alpha: float) -> np.ndarray:
    """A map of the image's size (uint8, or float min-max normalised here) in JET colours over the image.

    Same picture as mmengine's ``convert_overlay_heatmap``, written here because that one normalises,
    colours and swaps channels in float passes over the full-size map: several milliseconds per panel.
    """
    if heat.dtype != np.uint8:
        heat = to_uint8(heat)
    return cv2.addWeighted(image_rgb, 1 - alpha, cv2.applyColorMap(heat, _JET_RGB), alpha, 0)


def class_colours(palette, num_classes: int) -> list[tuple[int, int, int]]:
    """RGB colour per class from a dataset palette (list of RGB tuples), else a fixed random one."""
    if isinstance(palette, (list, tuple)) and len(palette) >= num_classes:
        return [tuple(int(c) for c in p) for p in palette[:num_classes]]
    rng = np.random.default_rng(42)
    return [tuple(int(c) for c in rng.integers(40, 256, 3)) for _ in range(max(num_classes, 1))]


@VISUALIZERS.register_module()
class HeatmapVisualizer(Visualizer):
    """Draws maps over the original image as heat maps, one titled panel per map, on a grid, and detections.
    Registered as ``FeatmapVisualizer`` as well, the name earlier configs use."""

    title_height = 26
    gap = 6
    max_width = 2560

    def __init__(self, name: str | None = None, alpha: float = 0.5, **kwargs):
        super().__init__(name=name or f'heatmap_visualizer_{next(_ids)}', **kwargs)
        self.alpha = alpha

    # ---------------------------------------------------------------- detections
    @staticmethod
    def draw_detections(image: np.ndarray, bboxes, labels, scores, classes: Sequence[str],
                        palette=None, thickness: int = 2, show_labels: bool = True) -> np.ndarray:
        """Boxes with 'class score' labels on a copy of an RGB image (boxes in image pixels).

        ``scores`` None draws class names only (ground truth). Labels are sized to their box and placed
        where they cover no other label and no other box, most confident first; one with no such place
        is left out (``vis.labels``). ``show_labels`` False draws the boxes alone."""
        from .labels import FONT, PAD, plan_labels
        out = image.copy()
        colours = class_colours(palette, len(classes))
        bboxes, labels = (np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v) for v in (bboxes, labels))
        bboxes = bboxes.reshape(-1, 4)
        scores = None if scores is None else np.asarray(scores.cpu() if isinstance(scores, torch.Tensor) else scores)
        # lowest score first: where two boxes cross, the more confident one is drawn on top
        order = np.argsort(scores, kind='stable') if scores is not None else range(len(bboxes))
        for i in order:
            x1, y1, x2, y2 = (int(round(v)) for v in bboxes[i])
            cv2.rectangle(out, (x1, y1), (x2, y2), colours[int(labels[i]) % len(colours)], thickness, cv2.LINE_AA)
        if not show_labels or not len(bboxes):
            return out
        names = [classes[int(l)] if int(l) < len(classes) else str(int(l)) for l in labels]
        texts = names if scores is None else [f'{n} {float(s):.2f}' for n, s in zip(names, scores)]
        for lab in plan_labels(bboxes, texts, out.shape[:2], scores):
            colour = colours[int(labels[lab.index]) % len(colours)]
            cv2.rectangle(out, (lab.x1, lab.y1), (lab.x2 - 1, lab.y2 - 1), colour, -1)
            cv2.putText(out, lab.text, (lab.x1 + PAD, lab.y2 - PAD - lab.baseline), FONT, lab.font_scale,
                        (0, 0, 0) if sum(colour) > 380 else (255, 255, 255), 1, cv2.LINE_AA)
        return out

    # ---------------------------------------------------------------- feature maps
    def draw_featmap(self, featmap: torch.Tensor, overlaid_image: np.ndarray,
                     meta: LetterboxMeta | None = None, channel_reduction: str | None = 'squeeze_mean',
                     topk: int = 20, arrangement: tuple[int, int] = (4, 5), alpha: float | None = None,
                     title: str = '') -> list[tuple[str, np.ndarray]]:
        """One (C, H, W) map -> titled overlays on the RGB image, aligned through ``meta``.

        Returns [(title, panel)]: one panel after a channel reduction, ``topk`` panels without.
        """
        check_display(featmap.shape[0], channel_reduction, topk, arrangement, title or 'feature map')
        alpha = self.alpha if alpha is None else alpha
        panels = []
        for suffix, m in select_maps(featmap, channel_reduction, topk):
            # normalised on the feature grid, then resampled as uint8: bilinear resampling stays within
            # the grid's range, so this equals normalising the full-size map, at a fraction of the cost
            aligned = align_to_image(to_uint8(m), meta, overlaid_image.shape[:2])
            panels.append((f'{title} {suffix}'.strip(), overlay_heatmap(aligned, overlaid_image, alpha)))
        return panels

    def _titled(self, panel: np.ndarray, title: str, scale: float) -> np.ndarray:
        if scale != 1:
            panel = cv2.resize(panel, (max(1, round(panel.shape[1] * scale)), max(1, round(panel.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA)
        band = np.full((self.title_height, panel.shape[1], 3), 255, np.uint8)
        font_scale = 0.55
        (tw, _), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        if tw > panel.shape[1] - 8:  # keep the whole title inside the panel
            font_scale *= (panel.shape[1] - 8) / tw
        cv2.putText(band, title, (4, self.title_height - 8), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
        return np.vstack([band, panel])

    def arrange(self, blocks: list[list[tuple[str, np.ndarray]]], cols: int | None = None) -> np.ndarray:
        """Lay titled panels on one white canvas; none is dropped.

        ``blocks`` is a list of panel groups: one group per map. Groups of one panel share one grid
        (as square as possible); a group of several (top-k channels) gets ``cols`` columns.
        """
        panels = [p for block in blocks for p in block]
        if not panels:
            raise ValueError('nothing to arrange')
        h, w = panels[0][1].shape[:2]
        grouped = any(len(block) > 1 for block in blocks)
        if cols is None:
            cols = max(len(b) for b in blocks) if grouped else grid_shape(len(panels))[1]
        # Each panel's (row, col): a group of several panels starts on a row of its own.
        places, r, c = [], 0, 0
        for block in blocks:
            if grouped and c:
                r, c = r + 1, 0
            for panel in block:
                places.append((r, c, panel))
                r, c = (r + 1, 0) if c + 1 == cols else (r, c + 1)
        rows = r + (1 if c else 0)
        scale = min(1.0, self.max_width / (cols * w))
        ph, pw = round(h * scale) + self.title_height, round(w * scale)
        g = self.gap
        canvas = np.full((rows * (ph + g) + g, cols * (pw + g) + g, 3), 255, np.uint8)
        for r, c, (title, panel) in places:
            tile = self._titled(panel, title, scale)
            y, x = g + r * (ph + g), g + c * (pw + g)
            canvas[y:y + tile.shape[0], x:x + tile.shape[1]] = tile[:ph, :pw]
        self.drawn = canvas
        return canvas

    def show_image(self, image: np.ndarray, win_name: str = 'image', wait_time: float = 0):
        self.show(image, win_name=win_name, wait_time=wait_time)


VISUALIZERS.register_module(name='FeatmapVisualizer', module=HeatmapVisualizer)
