"""Class activation maps of image classifiers (MMPretrain), as MMClassification's ``vis_cam.py`` made them:
classifier runner (``models.classifier``: build, test pipeline, the geometry of resize and crop) -> CAM
(pytorch-grad-cam) -> maps placed back on the original image (the part the crop cut off gets no map).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..cam.ablation import ZeroAblationLayerVit
from ..cam.base import keep_outputs_intact, maps_of_targets
from ..core.errors import SettingsError, UserError, first_line
from ..models.classifier import ClassifierRunner, LogitsModel
from ..models.layers import resolve_layer
from .methods import GRADIENT_FREE, cam_class, method_name


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
        self.layers = layers
        if aug_smooth:
            import ttach
            self.cam.tta_transforms = ttach.Compose([ttach.HorizontalFlip(), ttach.Multiply(factors=[0.9, 1, 1.1])])
        self.aug_smooth, self.eigen_smooth = aug_smooth, eigen_smooth

    def close(self):
        """Take the CAM's hooks off the model (for a model that goes on being used: training)."""
        from ..cam.base import release
        release(self.cam, self.layers)

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
