"""The pictures of class maps: each map over the part of the image the network saw, one titled panel per class."""
from __future__ import annotations

import numpy as np

from ..core.images import swap_rb


def overlay_with_crop(image_bgr: np.ndarray, cam: np.ndarray, inside: np.ndarray, alpha: float) -> np.ndarray:
    """The map over the part of the image the network saw; the rest is the image as it is (RGB out)."""
    from ..vis.visualizer import overlay_heatmap
    rgb = swap_rb(image_bgr)
    if not inside.any():
        return rgb
    heat = overlay_heatmap((np.clip(cam, 0, 1) * 255).astype(np.uint8), rgb, alpha)
    return np.where(inside[..., None], heat, rgb)


def panels_for(image_bgr: np.ndarray, maps, alpha: float, method: str, notes=None) -> list[tuple[str, np.ndarray]]:
    """One titled panel per category: the method, the class (index) and its probability (and a note per map,
    such as its faithfulness 'del 0.12 ins 0.64')."""
    notes = notes or [''] * len(maps)
    return [(f'{method}: {m.name} ({m.category}) p={m.probability:.2f}' + (f' {note}' if note else ''),
             overlay_with_crop(image_bgr, m.cam, m.inside, alpha)) for m, note in zip(maps, notes)]


def cams_picture(visualizer, image_bgr: np.ndarray, cams, categories: list[int] | None, alpha: float,
                 maps=None, notes=None) -> np.ndarray:
    """The picture of one image: one row per CAM (method), one column per category; a single panel each are
    laid as square a grid as fits. ``maps`` (one list per CAM) when they are made already, ``notes`` per map."""
    maps = maps if maps is not None else [cam.run(image_bgr, categories) for cam in cams]
    notes = notes or [None] * len(cams)
    blocks = [panels_for(image_bgr, m, alpha, cam.method, n) for cam, m, n in zip(cams, maps, notes)]
    return visualizer.arrange(blocks if len(blocks[0]) > 1 else [[p] for b in blocks for p in b])
