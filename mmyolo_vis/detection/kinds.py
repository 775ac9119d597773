"""Which kind of detector a model is, from its detector and head classes (never a file name), and the
scores model (``BoxScores`` interface) and default target layers of each kind:

- ``yolo``: MMYOLO's heads (``scores.DetectorScores``);
- ``dense``: MMDetection's one-stage heads that decode per-level maps over priors (``dense.DenseScores``);
- ``two-stage``: Faster R-CNN, Mask R-CNN, Cascade R-CNN (``two_stage.TwoStageScores``);
- ``detr``: the DETR family (``detr.DETRScores``).
"""
from __future__ import annotations

import weakref

import torch
import torch.nn as nn

from ..core.errors import UserError

SUPPORTED = ('MMYOLO heads (YOLOv5, YOLOv6, YOLOv7, YOLOv8, YOLOX, RTMDet, PPYOLOE); MMDetection dense one-stage '
             'heads decoded over priors (RetinaNet, FCOS, ATSS, GFL, TOOD, RTMDet, YOLOX); two-stage detectors '
             'with a standard or cascade RoI head (Faster, Mask, Cascade R-CNN); the DETR family (DETR, '
             'Conditional DETR, DAB-DETR, Deformable DETR, DINO)')


_NECK_LAYERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def detector_kind(model: nn.Module) -> str:
    from mmdet.models.dense_heads import DETRHead
    from mmdet.models.detectors import DetectionTransformer, SingleStageDetector, TwoStageDetector
    from mmyolo.models.dense_heads import YOLOv5Head
    from .dense import decodes_over_priors
    from .two_stage import supported_roi_head
    head = getattr(model, 'bbox_head', None)
    if isinstance(head, YOLOv5Head):  # every MMYOLO head derives from it
        return 'yolo'
    if isinstance(model, DetectionTransformer) and isinstance(head, DETRHead):
        return 'detr'
    if isinstance(model, TwoStageDetector) and getattr(model, 'rpn_head', None) is not None and \
            supported_roi_head(getattr(model, 'roi_head', None)):
        return 'two-stage'
    if isinstance(model, SingleStageDetector) and decodes_over_priors(head):
        return 'dense'
    what = type(model).__name__ + (f' with {type(head).__name__}' if head is not None else
                                   f' with {type(getattr(model, "roi_head", None)).__name__}'
                                   if getattr(model, 'roi_head', None) is not None else '')
    raise UserError(f'box activation maps support {SUPPORTED}; this model is a {what} (--method drise works on '
                    'any detector)')


def build_scores(model: nn.Module, method: str | None = None) -> nn.Module:
    """The scores model of the detector's kind; for D-RISE, which needs only predictions, any detector's
    (its final detections, ``predictions.PredictionScores``) where the kind is unknown."""
    try:
        kind = detector_kind(model)
    except UserError:
        if method != 'drise':
            raise
        from .predictions import PredictionScores
        return PredictionScores(model)
    if kind == 'yolo':
        from .scores import DetectorScores
        return DetectorScores(model)
    if kind == 'dense':
        from .dense import DenseScores
        return DenseScores(model)
    if kind == 'two-stage':
        from .two_stage import TwoStageScores
        return TwoStageScores(model)
    from .detr import DETRScores
    return DETRScores(model)


def neck_output_layers(model: nn.Module, size: int = 128) -> list[str]:
    """The modules whose outputs are the neck's outputs, one per pyramid level, found by running the backbone
    and neck on a random picture and comparing (the outermost module where several give the same tensor,
    e.g. a ConvModule and its conv). A level made by a function (Faster R-CNN's max-pooled P6) has no module;
    it depends on the level it pools, which is in the list."""
    neck = model.neck
    seen: list[tuple[str, torch.Tensor]] = []
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: seen.append((n, o)) if isinstance(o, torch.Tensor)
                                       else None)
               for n, m in neck.named_modules() if n]
    param = next(model.parameters())
    try:
        with torch.no_grad():
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(1, 3, size, size, generator=gen).to(param)
            outs = neck(model.backbone(x))
    finally:
        for h in handles:
            h.remove()
    names = []
    for out in outs:
        same = [n for n, t in seen if t.shape == out.shape and torch.equal(t, out)]
        if same:
            names.append('neck.' + min(same, key=lambda n: (n.count('.'), seen_index(seen, n))))
    return list(dict.fromkeys(names))


def seen_index(seen, name):
    return next(i for i, (n, _) in enumerate(seen) if n == name)


def default_target_layers(model: nn.Module) -> list[str]:
    """The neck's outputs: every pyramid level, for the YOLO families, dense and two-stage models (a box comes
    from one level, and its score depends on that level and, through the neck, on the finer ones).

    A DETR's box depends on every level at once (the encoder's deformable attention and the decoder's read all
    of them), so the coarse levels add only blur there: its default is the finest of the multi-scale maps that
    enter the transformer encoder. Measured on the trained demo DINO (tests/test_boxam_detr_layers.py;
    BENCHMARKS.md, "DETR target layers") against all three maps entering the encoder and against the encoder's
    output tokens as per-level grids (``--target-layers encoder``, ``encoder_grids``): the finest map points at
    its box most often (pointing game, hirescam and layercam)."""
    kind = detector_kind(model)
    if kind == 'yolo':
        from .scores import default_target_layers as yolo_layers
        return yolo_layers(model)
    if not getattr(model, 'with_neck', False):
        raise UserError('this model has no neck: give --target-layers')
    names = _NECK_LAYERS.get(model)
    if names is None:  # found once per model (a method grid or an evaluation builds many CAMs of it)
        names = _NECK_LAYERS[model] = neck_output_layers(model)
    if not names:
        raise UserError('no module of this model\'s neck gives its outputs: give --target-layers')
    return names[:1] if kind == 'detr' else names
