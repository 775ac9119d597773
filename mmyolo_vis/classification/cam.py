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
    """CNN: the output of the backbone's last block (``backbone.layer4[1]`` on a ResNet-18); ViT:
    ``backbone.layers[-1].ln1``; Swin: ``backbone.norm3``.

    MMClassification's vis_cam chose a CNN's last norm layer (``layer4.1.bn2``), but pytorch-grad-cam's hook
    there recorded the block's output anyway (the residual add is in place), so the block output is what its
    users saw; a map of bn2 itself misses the evidence the identity branch carries (README, "Which layer")."""
    backbone = model.backbone
    name = type(backbone).__name__.lower()
    if 'swin' in name and hasattr(backbone, 'norm3'):
        return 'backbone.norm3'
    if vit_like and hasattr(backbone, 'layers') and hasattr(backbone.layers[-1], 'ln1'):
        return f'backbone.layers[{len(backbone.layers) - 1}].ln1'
    stages = [n for n in getattr(backbone, 'res_layers', None) or []
              if isinstance(getattr(backbone, n, None), nn.Sequential) and len(getattr(backbone, n))]
    if not vit_like and stages:  # MMPretrain's ResNet family (ResNet, ResNetV1c/d, ResNeXt, SEResNet, ...)
        return f'backbone.{stages[-1]}[{len(getattr(backbone, stages[-1])) - 1}]'
    norms = [n for n, m in backbone.named_modules()
             if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))]
    if not norms:
        raise UserError('no norm layer in the backbone to default to: give --target-layers (see --preview-model)')
    return 'backbone.' + norms[-1]


def token_grid(num_extra_tokens: int, layer_names: str):
    """pytorch-grad-cam's ``reshape_transform`` for token outputs: (B, N, C) -> (B, C, s, s) after the
    leading extra tokens are dropped; a sequence that is not square then (or empty) is a settings error: the
    same for every image, said once and the run stops."""
    def reshape(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.ndim != 3:
            raise SettingsError(f'--target-layers {layer_names}: --vit-like expects token outputs (B, N, C), got '
                            f'{tuple(tensor.shape)}; drop --vit-like for a CNN layer')
        tokens = tensor[:, num_extra_tokens:, :]
        n = tokens.shape[1]
        side = math.isqrt(n)
        if n == 0:
            raise SettingsError(f'--num-extra-tokens {num_extra_tokens}: the layer {layer_names} outputs '
                                f'{tensor.shape[1]} tokens, none would be left for the map; use fewer, or leave '
                                'it out to read the backbone\'s own count')
        if side * side != n:
            raise SettingsError(f'--target-layers {layer_names}: {tensor.shape[1]} tokens less {num_extra_tokens} extra '
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
    input_cam: np.ndarray | None = None  # (h, w) the map on the network input (for faithfulness measures)
    inputs: torch.Tensor | None = None  # the network input (1, 3, h, w) it was made on
    meta: object = None  # the input's geometry (CropMeta)


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
            on_input = np.clip(np.nan_to_num(cam), 0, 1).astype(np.float32)
            placed, inside = meta.place(on_input)
            placed = np.where(inside, np.clip(placed, 0, 1), 0).astype(np.float32)
            out.append(ClassMap(c, self.runner.classes[c] if c < len(self.runner.classes) else str(c),
                                float(probs[c]), placed, inside, on_input, inputs, meta))
        return out

    def _check_gradient(self):
        grads = self.cam.activations_and_grads.gradients
        if grads and all(float(g.abs().sum()) == 0 for g in grads):
            hint = (f'the class token alone feeds the head after the last block, so its patch tokens get none: '
                    f'pick {default_target_layer(self.runner.model, True)} (the default)') if self.vit_like else \
                'pick a layer the class score depends on (see --preview-model)'
            raise SettingsError(f'--target-layers {" ".join(self.layer_names)}: the layer gets a zero gradient from '
                                f'the class score; {hint}')
