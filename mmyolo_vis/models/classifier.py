"""The classifier runner: an MMPretrain classifier built from its config and checkpoint (``models.build``),
images through its test pipeline, and the geometry of that pipeline's resize and crop.

The geometry is measured, not assumed: the test pipeline's geometric transforms are run once on a picture
whose pixels hold their own coordinates, so whatever resize and crop a config chains, each network-input
pixel says which original pixel it came from (``geometry.CropMeta``).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..core.errors import UserError
from .build import build_model, in_scope
from .geometry import CropMeta

# A classifier's test pipeline resizes the short edge to its input size: a thin picture grows. Beyond this
# many pixels after the resize, the picture is refused (the network sees a crop of a few hundred px anyway).
MAX_RESIZED_PIXELS = 20_000_000


class LogitsModel(nn.Module):
    """An MMPretrain classifier seen as pytorch-grad-cam expects: input tensor -> class logits."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(x, mode='tensor')


def _classes(cfg, ckpt_meta: dict, num_classes: int) -> tuple:
    classes = (ckpt_meta.get('dataset_meta') or {}).get('classes')
    if classes:
        return tuple(classes)
    for key in ('test_dataloader', 'val_dataloader'):
        meta = cfg.get(key, {}).get('dataset', {}).get('metainfo') or {}
        if meta.get('classes'):
            return tuple(meta['classes'])
    if num_classes == 1000:
        from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
        return tuple(IMAGENET_CATEGORIES)
    return tuple(str(i) for i in range(num_classes))


class ClassifierRunner:
    """Builds an MMPretrain classifier once; prepares images with its test pipeline and keeps the geometry."""

    def __init__(self, config: str, checkpoint: str | None, device: str | None = 'cpu',
                 cfg_options: dict | None = None, trust_checkpoint: bool = False):
        from mmpretrain.registry import MODELS

        def with_preprocessor(cfg):
            if 'data_preprocessor' in cfg and 'data_preprocessor' not in cfg.model:
                cfg.model.data_preprocessor = cfg.data_preprocessor  # as MMEngine's Runner merges it

        def is_classifier(model):
            if not hasattr(model, 'head') or not hasattr(model, 'extract_feat'):
                raise UserError(f'{config}: not an image classifier (MMPretrain ImageClassifier); for detectors '
                                'use demo/boxam_vis_demo.py')

        built = build_model(config, checkpoint, device, cfg_options, trust_checkpoint, registry=MODELS,
                            default_scope='mmpretrain', what='classifier', hint='; is it an MMPretrain config?',
                            adapt_cfg=with_preprocessor, check=is_classifier)
        self.cfg, self.scope, self.model, self.device = built.cfg, built.scope, built.model, built.device
        self.classes = _classes(self.cfg, built.meta, int(getattr(self.model.head, 'num_classes', 0) or 0))
        self._set_pipeline()

    @classmethod
    def from_model(cls, model: nn.Module, cfg, classes=None) -> 'ClassifierRunner':
        """A runner over a classifier built elsewhere (a training run's, by MMEngine's Runner): ``cfg``'s test
        pipeline in its default scope, the model as it is (not moved, not put in eval mode: its owner keeps its
        state). ``classes`` default to the config's, else the head's indices."""
        self = cls.__new__(cls)
        self.cfg, self.model = cfg, model
        self.scope = cfg.get('default_scope', 'mmpretrain')
        self.device = str(next(model.parameters()).device)
        self.classes = tuple(classes) if classes else _classes(
            cfg, {}, int(getattr(getattr(model, 'head', None), 'num_classes', 0) or 0))
        self._set_pipeline()
        return self

    def _set_pipeline(self):
        from mmengine.dataset import Compose
        pipeline = self._pipeline_cfg()
        with in_scope(self.scope):
            self.pipeline = Compose(pipeline)
            self.geometry = Compose([t for t in pipeline if 'Pack' not in str(t['type'])])
        self._crop_metas: dict[tuple[int, int], CropMeta] = {}

    def _pipeline_cfg(self) -> list:
        import copy
        cfg = self.cfg
        if 'test_dataloader' in cfg and 'pipeline' in cfg.test_dataloader.get('dataset', {}):
            pipeline = cfg.test_dataloader.dataset.pipeline
        elif 'test_pipeline' in cfg:
            pipeline = cfg.test_pipeline
        else:
            raise UserError('the config has no test pipeline (test_dataloader.dataset.pipeline or test_pipeline)')
        return [t for t in copy.deepcopy(list(pipeline)) if 'LoadImage' not in str(t['type'])]

    def resized_size(self, h: int, w: int) -> tuple[int, int] | None:
        """(height, width) the test pipeline's first resize gives an h x w picture (ResizeEdge, or Resize with
        or without keep_ratio), None for a pipeline without one this knows."""
        for t in self._pipeline_cfg():
            kind = str(t.get('type')).split('.')[-1]
            if kind == 'ResizeEdge':
                edge = t.get('edge', 'short')
                side = {'short': min(h, w), 'long': max(h, w), 'width': w, 'height': h}.get(edge)
                if side is None:
                    return None
                f = t['scale'] / side
                return round(h * f), round(w * f)
            if kind == 'Resize' and t.get('scale') is not None:
                scale = t['scale']
                sw, sh = (scale, scale) if isinstance(scale, int) else scale
                if not t.get('keep_ratio', False):
                    return sh, sw
                f = min(max(sw, sh) / max(h, w), min(sw, sh) / min(h, w))  # mmcv's rescale
                return round(h * f), round(w * f)
        return None

    def check_size(self, h: int, w: int):
        """Refuse a picture the test pipeline cannot take: a side under 2 px (its geometry cannot be measured),
        or so thin that the short-edge resize would inflate it past MAX_RESIZED_PIXELS (a 2x100000 PNG of
        666 bytes becomes 72x3600000 px and gigabytes of memory)."""
        resized = self.resized_size(h, w)
        if min(h, w) < 2 or (resized is not None and min(resized) < 2):
            raise UserError(f'{w}x{h} is too thin for the model: a side is under 2 px'
                            + (f' once resized to {resized[1]}x{resized[0]}' if min(h, w) >= 2 else '')
                            + '; crop or pad the picture')
        if resized is not None and resized[0] * resized[1] > MAX_RESIZED_PIXELS:
            raise UserError(f'{w}x{h} is too thin for the model: its test pipeline would resize it to '
                            f'{resized[1]}x{resized[0]} ({resized[0] * resized[1] / 1e6:.0f} MP, above '
                            f'{MAX_RESIZED_PIXELS / 1e6:g} MP); crop the picture')

    def prepare(self, image_bgr: np.ndarray) -> tuple[torch.Tensor, CropMeta]:
        """BGR image -> (normalised input (1, 3, H, W) on the device, its geometry)."""
        h, w = image_bgr.shape[:2]
        self.check_size(h, w)
        with in_scope(self.scope):
            packed = self.pipeline(dict(img=image_bgr, img_shape=(h, w), ori_shape=(h, w)))
        data = self.model.data_preprocessor(dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]),
                                            False)
        return data['inputs'], self.crop_meta(h, w)

    def crop_meta(self, h: int, w: int) -> CropMeta:
        """The test pipeline's geometry for an h x w picture: its resize and crop run once on a picture of
        coordinates, per picture size (a test pipeline is deterministic, so a folder of one size costs one)."""
        if (h, w) not in self._crop_metas:
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            coords = np.dstack([xx, yy, np.zeros_like(xx)])
            with in_scope(self.scope):
                moved = self.geometry(dict(img=coords, img_shape=(h, w), ori_shape=(h, w)))['img']
            self._crop_metas[h, w] = CropMeta.from_coordinates(np.asarray(moved), (h, w))
        return self._crop_metas[h, w]

    @torch.no_grad()
    def probabilities(self, inputs: torch.Tensor) -> np.ndarray:
        return torch.softmax(self.model(inputs, mode='tensor'), dim=1)[0].float().cpu().numpy()

    def category(self, value: str) -> int:
        """A class index or a class name -> index."""
        if value.lstrip('-').isdigit():
            idx = int(value)
            if not 0 <= idx < len(self.classes):
                raise UserError(f'--target-category {value}: this model has classes 0..{len(self.classes) - 1}')
            return idx
        if value in self.classes:
            return self.classes.index(value)
        import difflib
        close = difflib.get_close_matches(value, list(self.classes), n=3)
        raise UserError(f'--target-category {value!r}: not a class of this model'
                        + (f'; closest: {", ".join(close)}' if close else ''))
