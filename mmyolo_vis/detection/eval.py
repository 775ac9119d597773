"""Does a box's map land on its object, and does the detector depend on what it shows? Pointing game,
energy-in-box, and (``detection.faithfulness``) deletion, insertion and ROAD over a split with ground truth."""
from __future__ import annotations

import numpy as np

from ..cam.metrics import energy_in_box, pointing_hit


def box_iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(-1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter + 1e-9)


def score_boxes(maps, det_boxes, det_labels, gt_boxes, gt_labels, min_size: float = 32, iou_thr: float = 0.5,
                tolerance: float = 15.0) -> list[dict]:
    """Each detection matched to a ground-truth box of its class (IoU >= iou_thr) and at least ``min_size``
    px on its longer side: its map's pointing hit and energy in the ground-truth box, and the class-level
    hit of the original pointing game (the maximum on any ground-truth box of the detection's class), and
    whether the box is the only ground-truth object of its class in the image (``alone``): a class-level
    map can only be told from a box-level one on the boxes that are not alone."""
    rows = []
    if not len(det_boxes) or not len(gt_boxes):
        return rows
    ious = box_iou_np(np.asarray(det_boxes, np.float32), np.asarray(gt_boxes, np.float32))
    used = set()
    for k in np.argsort(-ious.max(1)):
        same = np.where(np.asarray(gt_labels) == det_labels[k], ious[k], 0)
        g = int(np.argmax(same))
        if same[g] < iou_thr or g in used:
            continue
        used.add(g)
        gb = gt_boxes[g]
        if max(gb[2] - gb[0], gb[3] - gb[1]) < min_size:
            continue
        same_class = [b for b, lab in zip(gt_boxes, gt_labels) if lab == det_labels[k]]
        rows.append(dict(hit=pointing_hit(maps[k], gb, tolerance), energy=energy_in_box(maps[k], gb),
                         class_hit=any(pointing_hit(maps[k], b, tolerance) for b in same_class),
                         alone=len(same_class) == 1,
                         size=float(max(gb[2] - gb[0], gb[3] - gb[1])),
                         det=int(k), gt_box=[float(v) for v in gb]))
    return rows


def mean_of(rows, key, keep=lambda r: True) -> float | None:
    values = [r[key] for r in rows if keep(r) and r.get(key) is not None]
    return float(np.mean(values)) if values else None  # no box: null in the JSON, '-' in the table


def mean_curve(rows, key) -> list[float] | None:
    curves = [r[key] for r in rows if r.get(key) is not None]
    return [float(v) for v in np.mean(curves, 0)] if curves else None


def summarise(method: str, layers: str, rows: list[dict],
              metrics=('pointing', 'energy')) -> dict:
    """One table row: pointing game and energy over all boxes, the class-level pointing game, and the
    pointing game over boxes alone of their class in the image and over boxes that share it; with
    ``deletion`` / ``insertion`` / ``road`` in ``metrics``, their means over the boxes (and the mean curves),
    and the seconds a map took per box."""
    out = dict(method=method, layers=layers, boxes=len(rows), boxes_shared=sum(not r['alone'] for r in rows))
    if 'pointing' in metrics:
        out.update(pointing_game=mean_of(rows, 'hit'), pointing_game_class=mean_of(rows, 'class_hit'),
                   pointing_game_alone=mean_of(rows, 'hit', lambda r: r['alone']),
                   pointing_game_shared=mean_of(rows, 'hit', lambda r: not r['alone']))
    if 'energy' in metrics:
        out.update(energy_in_box=mean_of(rows, 'energy'))
    for m in ('deletion', 'insertion'):
        if m in metrics:
            out.update({f'{m}_auc': mean_of(rows, f'{m}_auc'), f'{m}_curve': mean_curve(rows, m)})
    if 'road' in metrics:
        out.update(road=mean_of(rows, 'road'))
    if any(m in metrics for m in ('deletion', 'insertion', 'road')):
        out.update(seconds_per_box=mean_of(rows, 'seconds_per_box'))
    return out
