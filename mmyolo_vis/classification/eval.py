"""Do a classifier's class maps land on the object? The pointing game over a split with boxes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..cam.metrics import energy_in_box, pointing_hit
from ..core.errors import UserError, first_line


GENERATE = 'generate the set with tools/dataset_converters/make_shapes_cls_dataset.py'


def load_split(root: str, split: str = 'val') -> list[tuple[str, str, list[float]]]:
    """(image path, class name, xyxy box) for each object of a generated split (``make_shapes_cls_dataset.py``:
    one object per picture, the class is the picture's folder). A split that is missing, unreadable or empty
    is one UserError."""
    if not os.path.isdir(root):
        what = 'not a folder' if os.path.exists(root) else 'no such folder'
        raise UserError(f'--data-root {root}: {what}; give the dataset\'s root folder (holding annotations/)')
    ann_path = Path(root) / 'annotations' / f'{split}.json'
    if not ann_path.is_file():
        raise UserError(f'{root}: no annotations/{split}.json; {GENERATE}')
    try:
        ann = json.loads(ann_path.read_text())
        images = {im['id']: im for im in ann['images']}
        samples = []
        for a in ann['annotations']:
            x, y, w, h = a['bbox']
            name = images[a['image_id']]['file_name']
            samples.append((str(Path(root) / name), name.replace('\\', '/').split('/')[-2], [x, y, x + w, y + h]))
    except (ValueError, KeyError, TypeError, IndexError, OSError) as e:  # truncated JSON, missing keys
        raise UserError(f'{ann_path}: not a readable annotation file ({type(e).__name__}: {first_line(e)}); '
                        f'{GENERATE}') from None
    if not samples:
        raise UserError(f'{ann_path}: the {split} split holds no images; {GENERATE}')
    return samples


def check_classes(samples, classes) -> None:
    """Refuse, before any map is made, a split whose class folders the model does not know."""
    unknown = sorted({c for _, c, _ in samples} - set(classes))
    if unknown:
        raise UserError(f'class folder {unknown[0]!r} of the split is not a class of this model (its classes: '
                        f'{", ".join(map(str, classes))}); is the checkpoint for this dataset?')


def evaluate(cam, samples, tolerance: float = 15.0, progress=None, faith=None, metrics=()) -> dict:
    """Pointing game (the map's maximum inside the box grown by ``tolerance`` px, and with none) and energy in
    the box, each map made for the object's class; with ``faith`` (``ClassifierFaithfulness``), the
    deletion / insertion / ROAD of ``metrics`` (the whole input the reference) and the seconds per map."""
    import time

    from ..core.images import read_image
    classes = list(cam.runner.classes)
    check_classes(samples, classes)
    hits = strict = 0
    energy, measured, seconds = [], [], []
    for path, class_name, box in (progress(samples) if progress else samples):
        start = time.perf_counter()
        m = cam.run(read_image(path), [classes.index(class_name)])[0]
        seconds.append(time.perf_counter() - start)
        hits += pointing_hit(m.cam, box, tolerance)
        strict += pointing_hit(m.cam, box, 0.0)
        energy.append(energy_in_box(m.cam, box))
        if faith is not None:
            measured.append(faith.measure(m.inputs, m.input_cam[None], [m.category], metrics)[0])
    n = max(1, len(samples))
    out = dict(method=cam.method, layers=' '.join(cam.layer_names), images=n, pointing_game=hits / n,
               pointing_game_strict=strict / n, energy_in_box=float(np.mean(energy)))
    if faith is not None:
        out.update(faithfulness_summary(measured, metrics), seconds_per_image=float(np.mean(seconds)))
    return out


def faithfulness_summary(rows: list[dict], metrics) -> dict:
    """Mean AUCs, mean curves and mean ROAD of per-picture measures."""
    out = {}
    for m in ('deletion', 'insertion'):
        if m in metrics:
            measured = [r for r in rows if r.get(m) is not None]  # None: no probability to lose
            out[f'{m}_auc'] = float(np.mean([r[f'{m}_auc'] for r in measured])) if measured else None
            out[f'{m}_curve'] = [float(v) for v in np.mean([r[m] for r in measured], 0)] if measured else None
    if 'road' in metrics:
        out['road'] = float(np.mean([r['road'] for r in rows])) if rows else None
    return out


def evaluate_baselines(runner, faith, samples, metrics, progress=None) -> list[dict]:
    """The same measures, on the same pictures, of maps that know nothing of the model: a seeded random map,
    the object's box as a map, a Gaussian on it."""
    from ..cam.faithfulness import BASELINES
    from ..core.images import read_image
    from .faithfulness import crop_box
    classes = list(runner.classes)
    per_kind = {kind: [] for kind in BASELINES}
    for path, class_name, box in (progress(samples) if progress else samples):
        inputs, meta = runner.prepare(read_image(path))
        for kind, rows in faith.baselines(inputs, [classes.index(class_name)], metrics,
                                          crop_box(box, meta)[None]).items():
            per_kind[kind].extend(rows)
    return [dict(method=f'{kind} (baseline)', layers='(no model)', images=len(samples),
                 **faithfulness_summary(rows, metrics)) for kind, rows in per_kind.items()]


def accuracy(runner, samples) -> float:
    """Top-1 accuracy of the classifier on the samples."""
    from ..core.images import read_image
    classes = list(runner.classes)
    right = sum(int(np.argmax(runner.probabilities(runner.prepare(read_image(p))[0]))) == classes.index(c)
                for p, c, _ in samples)
    return right / max(1, len(samples))
