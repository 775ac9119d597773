"""A DETR encoder's output tokens as CAM target layers: one grid per pyramid level.

The transformer encoder of every DETR-family detector takes the neck outputs flattened in level order as
tokens (B, sum_l H_l * W_l, C) (DETR, Conditional and DAB-DETR: the last level alone; Deformable DETR and
DINO: every level) and gives as many tokens back, its "memory", which the decoder (and DINO's query selection)
reads. No module outputs them as the (B, C, H, W) grids a CAM needs, so (nothing in pytorch-grad-cam or
MMDetection does this): one identity "tap" module per level, and a forward hook on ``encoder`` that returns the
memory rebuilt from the taps' outputs, each one level's tokens reshaped to (B, C, H_l, W_l). The rebuilt memory
holds the encoder's values, and the taps' outputs are on the path from every score to the input: pytorch-grad-cam
hooks the taps like any layer (gradients, EigenCAM, ablation reruns). The level shapes are read from the neck
outputs of the same pass (a hook on ``neck``).

``--target-layers encoder`` names these grids on a DETR model (``resolve_target_layers``, the one place names
become modules for box maps); elsewhere ``encoder`` is an ordinary module name. The hooks are on the model only
while a box-map CAM that uses them is (``acquire`` / ``release``, counted: several CAMs may share them).
"""
from __future__ import annotations

import weakref

import torch
import torch.nn as nn

from ..models.layers import resolve_layer

ENCODER = 'encoder'  # the name users type
PREFIX = 'encoder:level'  # the taps' names in messages and tables: encoder:level0, encoder:level1, ...

_GRIDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class EncoderGrids:
    """The taps of one DETR model, and the hooks that route its encoder's memory through them."""

    def __init__(self, model: nn.Module):
        self.levels = encoder_levels(model)
        self.taps = [nn.Identity() for _ in range(self.levels)]
        self.shapes: list[tuple[int, int]] | None = None
        self.users = 0
        source = model.neck if getattr(model, 'with_neck', False) else model.backbone
        self.handles = [source.register_forward_hook(self._level_shapes),
                        model.encoder.register_forward_hook(self._through_taps)]

    def _level_shapes(self, module, inputs, outputs):
        outs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
        self.shapes = [tuple(o.shape[-2:]) for o in outs][-self.levels:]

    def _through_taps(self, module, inputs, memory):
        if not isinstance(memory, torch.Tensor) or memory.dim() != 3 or self.shapes is None:
            raise RuntimeError('the DETR encoder gave no (B, N, C) tokens after a neck pass: '
                               '--target-layers encoder does not apply to this model')
        b, n, c = memory.shape
        if n != sum(h * w for h, w in self.shapes):
            raise RuntimeError(f'the DETR encoder gave {n} tokens, the neck levels {self.shapes} hold '
                               f'{sum(h * w for h, w in self.shapes)}: --target-layers encoder does not apply')
        grids, start = [], 0
        for tap, (h, w) in zip(self.taps, self.shapes):
            grid = memory[:, start:start + h * w].transpose(1, 2).reshape(b, c, h, w)
            grids.append(tap(grid))  # called as a module: the CAM's hooks see (and may replace) the grid
            start += h * w
        return torch.cat([g.flatten(2).transpose(1, 2) for g in grids], 1)

    def remove(self):
        for h in self.handles:
            h.remove()


def encoder_levels(model: nn.Module) -> int:
    """How many levels the encoder reads: its multi-scale attention's ``num_levels`` (Deformable DETR, DINO;
    the detector's ``num_feature_levels`` may differ: a 3-level DINO made from the 4-scale config keeps 4),
    else one (DETR, Conditional and DAB-DETR read the last neck output alone)."""
    layers = getattr(model.encoder, 'layers', None)
    attn = getattr(layers[0], 'self_attn', None) if layers is not None and len(layers) else None
    return int(getattr(attn, 'num_levels', 1))


def is_detr(model: nn.Module) -> bool:
    from .kinds import detector_kind
    from ..core.errors import UserError
    try:
        return detector_kind(model) == 'detr'
    except UserError:
        return False


def acquire(model: nn.Module) -> EncoderGrids:
    grids = _GRIDS.get(model)
    if grids is None:
        grids = _GRIDS[model] = EncoderGrids(model)
    grids.users += 1
    return grids


def release(model: nn.Module, times: int = 1) -> None:
    """One user fewer (``times``); the last one takes the hooks off the model."""
    grids = _GRIDS.get(model)
    if grids is None or times <= 0:
        return
    grids.users -= times
    if grids.users <= 0:
        grids.remove()
        del _GRIDS[model]


def resolve_target_layers(model: nn.Module, names: list[str]) -> tuple[list[nn.Module], list[str], int]:
    """Box-map target layer names -> (modules, their names, how many ``acquire`` calls to ``release``).
    ``encoder`` on a DETR model gives one tap per level (``encoder:level0`` ...); every other name is a module
    path (``models.layers.resolve_layer``)."""
    modules, canonical, acquired = [], [], 0
    detr = None
    for name in names:
        if name == ENCODER:
            detr = is_detr(model) if detr is None else detr
            if detr:
                grids = acquire(model)
                acquired += 1
                modules += grids.taps
                canonical += [f'{PREFIX}{i}' for i in range(len(grids.taps))]
                continue
        try:
            module, path = resolve_layer(model, name)
        except Exception:
            release(model, acquired)
            raise
        modules.append(module)
        canonical.append(path)
    return modules, canonical, acquired
