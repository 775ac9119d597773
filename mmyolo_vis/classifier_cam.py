"""Class activation maps of image classifiers (MMPretrain), as MMClassification's ``vis_cam.py`` made them:
inputs -> classifier runner (build, test pipeline, the geometry of resize and crop) -> CAM (pytorch-grad-cam)
-> maps placed back on the original image (the part the crop cut off gets no map).

The placement is measured, not assumed: the test pipeline's geometric transforms are run once on a picture
whose pixels hold their own coordinates, so whatever resize and crop a config chains, each network-input
pixel says which original pixel it came from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn as nn

from .cam_methods import (GRADIENT_METHODS, OrientedEigenCAM, WholeNetworkAblationCAM, ZeroAblationLayer,
                          keep_outputs_intact, maps_of_targets)
from .errors import SettingsError, UserError, first_line
from .layers import resolve_layer

METHOD_ALIASES = {'gradcamplusplus': 'gradcam++', 'gradcampp': 'gradcam++'}
METHODS = ('gradcam', 'gradcam++', 'xgradcam', 'eigencam', 'eigengradcam', 'layercam', 'hirescam', 'ablationcam')
GRADIENT_FREE = ('eigencam', 'ablationcam')


def method_name(name: str) -> str:
    """``GradCAM``, ``gradcam``, ``GradCAMPlusPlus`` ... -> the canonical lower-case name."""
    key = name.lower().replace('-', '').replace('_', '')
    key = METHOD_ALIASES.get(key, key)
    if key not in METHODS:
        raise UserError(f'--method {name!r}: use one of {", ".join(METHODS)} (any case: GradCAM works)')
    return key


def cam_class(method: str):
    return {**GRADIENT_METHODS, 'eigencam': OrientedEigenCAM, 'ablationcam': LogitAblationCAM}[method]


class LogitAblationCAM(WholeNetworkAblationCAM):
    """AblationCAM on class logits. pytorch-grad-cam weighs a channel by (score - ablated score) / score: right
    for a positive score (a detector's probability), inverted for a negative logit (any class but the likely
    ones), whose map the ReLU then blanks. Here the drop is divided by |score|: a channel whose ablation
    lowers the class's logit counts for the class, whatever its sign."""

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        weights = super().get_cam_weights(input_tensor, target_layer, targets, activations, grads)
        scores = [float(t(self.outputs[0])) for t in targets]  # the logits of BaseCAM's pass on the picture
        return weights * np.sign(np.float32(scores))[:, None]


class ZeroAblationLayerVit(ZeroAblationLayer):
    """``ZeroAblationLayer`` for token outputs (B, N, C): a channel is the last axis (as pytorch-grad-cam's
    AblationLayerVit, with zero as the ablated value)."""

    channel_axis = -1

    def set_next_batch(self, input_batch_index, activations, num_channels_to_ablate):
        self.activations = activations[input_batch_index].clone().unsqueeze(0).repeat(num_channels_to_ablate, 1, 1)

    def __call__(self, x):
        out = self.activations
        out[torch.arange(len(out)), :, torch.as_tensor(self.indices[:len(out)], dtype=torch.long)] = 0
        return out


# ------------------------------------------------------------------ geometry
@dataclass
class CropMeta:
    """Network-input pixel (column j, row i) came from original pixel (ax * j + bx, ay * i + by)."""
    ax: float
    bx: float
    ay: float
    by: float
    input_hw: tuple[int, int]
    ori_hw: tuple[int, int]

    @classmethod
    def from_coordinates(cls, coords: np.ndarray, ori_hw) -> 'CropMeta':
        """Fit from a transformed coordinate picture (H, W, 2+): channel 0 holds x, channel 1 holds y."""
        h, w = coords.shape[:2]
        j = np.arange(w, dtype=np.float64)
        i = np.arange(h, dtype=np.float64)
        inner_j, inner_i = slice(1, max(w - 1, 2)), slice(1, max(h - 1, 2))  # bilinear clamps the outer pixels
        ax, bx = np.polyfit(j[inner_j], coords[h // 2, inner_j, 0].astype(np.float64), 1)
        ay, by = np.polyfit(i[inner_i], coords[inner_i, w // 2, 1].astype(np.float64), 1)
        return cls(float(ax), float(bx), float(ay), float(by), (h, w), tuple(ori_hw))

    def place(self, cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """An input-sized map -> (map on the original image, mask of the original pixels the input covers)."""
        h, w = self.ori_hw
        # original pixel X looks up input column (X - bx) / ax
        m = np.array([[1 / self.ax, 0, -self.bx / self.ax], [0, 1 / self.ay, -self.by / self.ay]], np.float64)
        placed = cv2.warpAffine(np.float32(cam), m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REPLICATE)
        xs = (np.arange(w) - self.bx) / self.ax
        ys = (np.arange(h) - self.by) / self.ay
        ih, iw = self.input_hw
        inside = ((ys >= -0.5) & (ys <= ih - 0.5))[:, None] & ((xs >= -0.5) & (xs <= iw - 0.5))[None, :]
        return placed, inside


# ------------------------------------------------------------------ the runner
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
        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope, init_default_scope

        from . import quiet
        from .checkpoint import fetch, load_checkpoint_file, load_into
        from .runner import load_config, resolve_device
        quiet.silence_library_noise()
        self.device = resolve_device(device)
        self.cfg = load_config(config, cfg_options)
        self.scope = self.cfg.get('default_scope', 'mmpretrain')
        init_default_scope(self.scope)
        ckpt = load_checkpoint_file(fetch(checkpoint), trust_checkpoint) if checkpoint else None
        from mmpretrain.registry import MODELS
        model_cfg = self.cfg.model
        model_cfg.get('backbone', {}).pop('init_cfg', None)  # never fetch pretrained weights
        if 'data_preprocessor' in self.cfg and 'data_preprocessor' not in model_cfg:
            model_cfg.data_preprocessor = self.cfg.data_preprocessor  # as MMEngine's Runner merges it
        try:
            with DefaultScope.overwrite_default_scope(self.scope):
                model = MODELS.build(model_cfg)
        except Exception as e:
            raise UserError(f'{config}: cannot build the classifier ({first_line(e)})'
                            '; is it an MMPretrain config?') from None
        if not hasattr(model, 'head') or not hasattr(model, 'extract_feat'):
            raise UserError(f'{config}: not an image classifier (MMPretrain ImageClassifier); for detectors use '
                            'demo/boxam_vis_demo.py')
        meta = {}
        if ckpt is not None:
            load_into(model, ckpt, checkpoint)
            meta = ckpt.get('meta', {}) or {}
        self.model = model.to(self.device).eval()
        self.classes = _classes(self.cfg, meta, int(getattr(model.head, 'num_classes', 0) or 0))
        pipeline = self._pipeline_cfg()
        with DefaultScope.overwrite_default_scope(self.scope):
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

    def prepare(self, image_bgr: np.ndarray) -> tuple[torch.Tensor, CropMeta]:
        """BGR image -> (normalised input (1, 3, H, W) on the device, its geometry)."""
        from mmengine.registry import DefaultScope
        h, w = image_bgr.shape[:2]
        with DefaultScope.overwrite_default_scope(self.scope):
            packed = self.pipeline(dict(img=image_bgr, img_shape=(h, w), ori_shape=(h, w)))
        data = self.model.data_preprocessor(dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]),
                                            False)
        return data['inputs'], self.crop_meta(h, w)

    def crop_meta(self, h: int, w: int) -> CropMeta:
        """The test pipeline's geometry for an h x w picture: its resize and crop run once on a picture of
        coordinates, per picture size (a test pipeline is deterministic, so a folder of one size costs one)."""
        if (h, w) not in self._crop_metas:
            from mmengine.registry import DefaultScope
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            coords = np.dstack([xx, yy, np.zeros_like(xx)])
            with DefaultScope.overwrite_default_scope(self.scope):
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


# ------------------------------------------------------------------ layers
def is_vit_like(backbone: nn.Module) -> bool:
    return hasattr(backbone, 'num_extra_tokens') or 'transformer' in type(backbone).__name__.lower()


def default_target_layer(model: nn.Module, vit_like: bool) -> str:
    """CNN: the last norm layer of the backbone's last block; ViT: ``backbone.layers[-1].ln1``; Swin:
    ``backbone.norm3`` (as MMClassification's vis_cam chose them)."""
    backbone = model.backbone
    name = type(backbone).__name__.lower()
    if 'swin' in name and hasattr(backbone, 'norm3'):
        return 'backbone.norm3'
    if vit_like and hasattr(backbone, 'layers') and hasattr(backbone.layers[-1], 'ln1'):
        return f'backbone.layers[{len(backbone.layers) - 1}].ln1'
    norms = [n for n, m in backbone.named_modules()
             if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))]
    if not norms:
        raise UserError('no norm layer in the backbone to default to: give --target-layers (see --preview-model)')
    return 'backbone.' + norms[-1]


def token_grid(num_extra_tokens: int, layer_names: str):
    """pytorch-grad-cam's ``reshape_transform`` for token outputs: (B, N, C) -> (B, C, s, s) after the
    leading extra tokens are dropped; a sequence that is not square then is one clear error."""
    def reshape(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.ndim != 3:
            raise UserError(f'--target-layers {layer_names}: --vit-like expects token outputs (B, N, C), got '
                            f'{tuple(tensor.shape)}; drop --vit-like for a CNN layer')
        tokens = tensor[:, num_extra_tokens:, :]
        n = tokens.shape[1]
        side = math.isqrt(n)
        if side * side != n:
            raise UserError(f'--target-layers {layer_names}: {tensor.shape[1]} tokens less {num_extra_tokens} extra '
                            f'tokens leaves {n}, not a square grid; set --num-extra-tokens')
        return tokens.reshape(tokens.shape[0], side, side, tokens.shape[2]).permute(0, 3, 1, 2)
    return reshape


# ------------------------------------------------------------------ the CAM
@dataclass
class ClassMap:
    category: int
    name: str
    probability: float
    cam: np.ndarray  # (H, W) on the original image, in [0, 1], 0 outside the crop
    inside: np.ndarray  # (H, W) bool: the original pixels the network input covers


class ClassifierCAM:
    """One CAM method on a classifier's target layers; ``run(image, categories)`` -> one map per category."""

    def __init__(self, runner: ClassifierRunner, method: str = 'gradcam', target_layers: list[str] | None = None,
                 vit_like: bool | None = None, num_extra_tokens: int | None = None, aug_smooth: bool = False,
                 eigen_smooth: bool = False, batch_size: int = 32):
        self.runner = runner
        self.method = method_name(method)
        model = runner.model
        self.vit_like = is_vit_like(model.backbone) if vit_like is None else vit_like
        self.layer_names = list(target_layers or [default_target_layer(model, self.vit_like)])
        layers = [resolve_layer(model, n)[0] for n in self.layer_names]
        if num_extra_tokens is None:
            num_extra_tokens = int(getattr(model.backbone, 'num_extra_tokens', 0))
        if num_extra_tokens < 0:
            raise UserError(f'--num-extra-tokens {num_extra_tokens}: must be 0 or more')
        self.num_extra_tokens = num_extra_tokens
        reshape = token_grid(num_extra_tokens, ' '.join(self.layer_names)) if self.vit_like else None
        kwargs = dict(reshape_transform=reshape)
        if self.method == 'ablationcam':
            kwargs.update(batch_size=batch_size)
            if self.vit_like:  # a channel of tokens is their last axis
                kwargs.update(ablation_layer=ZeroAblationLayerVit())
        self.cam = cam_class(self.method)(LogitsModel(model), layers, **kwargs)
        keep_outputs_intact(layers)
        if aug_smooth:
            import ttach
            self.cam.tta_transforms = ttach.Compose([ttach.HorizontalFlip(), ttach.Multiply(factors=[0.9, 1, 1.1])])
        self.aug_smooth, self.eigen_smooth = aug_smooth, eigen_smooth

    def run(self, image_bgr: np.ndarray, categories: list[int] | None = None) -> list[ClassMap]:
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        inputs, meta = self.runner.prepare(image_bgr)
        probs = self.runner.probabilities(inputs)
        if not categories:
            categories = [int(np.argmax(probs))]
        targets = [ClassifierOutputTarget(c) for c in categories]
        try:
            cams = maps_of_targets(self.cam, inputs, targets, self.aug_smooth, self.eigen_smooth)
        except UserError:
            raise
        except RuntimeError as e:
            raise SettingsError(f'--target-layers {" ".join(self.layer_names)}: cannot make a map there '
                                f'({first_line(e)}); pick another layer (see --preview-model)') from None
        if self.method not in GRADIENT_FREE:
            self._check_gradient()
        out = []
        for c, cam in zip(categories, cams):
            placed, inside = meta.place(np.nan_to_num(cam))
            placed = np.where(inside, np.clip(placed, 0, 1), 0).astype(np.float32)
            out.append(ClassMap(c, self.runner.classes[c] if c < len(self.runner.classes) else str(c),
                                float(probs[c]), placed, inside))
        return out

    def _check_gradient(self):
        grads = self.cam.activations_and_grads.gradients
        if grads and all(float(g.abs().sum()) == 0 for g in grads):
            hint = (f'the class token alone feeds the head after the last block, so its patch tokens get none: '
                    f'pick {default_target_layer(self.runner.model, True)} (the default)') if self.vit_like else \
                'pick a layer the class score depends on (see --preview-model)'
            raise SettingsError(f'--target-layers {" ".join(self.layer_names)}: the layer gets a zero gradient from '
                                f'the class score; {hint}')
