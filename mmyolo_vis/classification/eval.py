"""Do a classifier's class maps land on the object? The pointing game over a split with boxes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..cam.metrics import energy_in_box, pointing_hit


def load_split(root: str, split: str = 'val') -> list[tuple[str, int, list[float]]]:
    """(image path, class index in the classifier's order, xyxy box) for each object of a generated split
    (``make_shapes_cls_dataset.py``: one object per picture, the class is the picture's folder)."""
    ann = json.loads((Path(root) / 'annotations' / f'{split}.json').read_text())
    images = {im['id']: im for im in ann['images']}
    samples = []
    for a in ann['annotations']:
        x, y, w, h = a['bbox']
        name = images[a['image_id']]['file_name']
        samples.append((str(Path(root) / name), name.split('/')[-2], [x, y, x + w, y + h]))
    return samples


def evaluate(cam, samples, tolerance: float = 15.0, progress=None) -> dict:
    """Pointing game (the map's maximum inside the box grown by ``tolerance`` px, and with none) and energy in
    the box, each map made for the object's class."""
    from ..core.images import read_image
    classes = list(cam.runner.classes)
    hits = strict = 0
    energy = []
    for path, class_name, box in (progress(samples) if progress else samples):
        m = cam.run(read_image(path), [classes.index(class_name)])[0]
        hits += pointing_hit(m.cam, box, tolerance)
        strict += pointing_hit(m.cam, box, 0.0)
        energy.append(energy_in_box(m.cam, box))
    n = len(samples)
    return dict(method=cam.method, layers=' '.join(cam.layer_names), images=n, pointing_game=hits / n,
                pointing_game_strict=strict / n, energy_in_box=float(np.mean(energy)))


def accuracy(runner, samples) -> float:
    """Top-1 accuracy of the classifier on the samples."""
    from ..core.images import read_image
    classes = list(runner.classes)
    right = sum(int(np.argmax(runner.probabilities(runner.prepare(read_image(p))[0]))) == classes.index(c)
                for p, c, _ in samples)
    return right / len(samples)
