"""COCO box AP of detections against a COCO annotation file (pycocotools, printing silenced)."""
from __future__ import annotations

import contextlib
import io


def coco_ap(ann_file: str, results: list[dict]) -> dict:
    """{'AP': AP@[.5:.95], 'AP50': AP@.5} of ``results`` (COCO results format) for the annotated images."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        if not results:
            return {'AP': 0.0, 'AP50': 0.0}
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, 'bbox')
        ev.params.maxDets = [1, 10, 1000]  # large scenes hold hundreds of objects
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {'AP': float(ev.stats[0]), 'AP50': float(ev.stats[1])}
