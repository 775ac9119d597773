"""Pure functions on feature maps for display: channel reduction, top-k, the panel grid, and 8-bit scaling."""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from ..core.errors import SettingsError, UserError
from ..models.geometry import as_array

CHANNEL_REDUCTIONS = ('squeeze_mean', 'select_max', None)


def parse_channel_reduction(value: str | None) -> str | None:
    if value is None or value.lower() == 'none':
        return None
    if value not in CHANNEL_REDUCTIONS:
        raise UserError(f'--channel-reduction {value!r}: use squeeze_mean, select_max or None')
    return value


def check_display(num_channels: int, channel_reduction: str | None, topk: int,
                  arrangement: tuple[int, int], name: str = 'feature map'):
    """Raise a UserError for a combination that cannot be shown."""
    rows, cols = arrangement
    if rows < 1 or cols < 1:
        raise SettingsError(f'--arrangement {rows} {cols}: rows and columns must be at least 1')
    if channel_reduction is None:
        if topk > 0 and rows * cols < topk:
            raise SettingsError(f'--arrangement {rows} {cols} has {rows * cols} places for --topk {topk} maps; '
                            'make rows*cols at least topk')
        if topk <= 0 and num_channels not in (1, 3):
            raise SettingsError(f'{name} has {num_channels} channels: with --topk {topk} set --channel-reduction '
                            'squeeze_mean or select_max, or a positive --topk')


def reduce_channels(feat: torch.Tensor, channel_reduction: str | None) -> torch.Tensor:
    """(C, H, W) -> (1, H, W) with 'squeeze_mean' (the channel mean) or 'select_max' (the channel
    with the largest sum of activations); None returns the map unchanged."""
    if feat.ndim != 3:
        raise ValueError(f'expected (C, H, W), got {tuple(feat.shape)}')
    if channel_reduction == 'squeeze_mean':
        return feat.mean(dim=0, keepdim=True)
    if channel_reduction == 'select_max':
        idx = int(torch.argmax(feat.sum(dim=(1, 2))))
        return feat[idx:idx + 1]
    if channel_reduction is None:
        return feat
    raise ValueError(f'unknown channel reduction {channel_reduction!r}')


def topk_channels(feat: torch.Tensor, k: int) -> tuple[list[int], torch.Tensor]:
    """The ``k`` channels with the largest sum of activations, largest first."""
    k = min(k, feat.shape[0])
    _, idx = torch.topk(feat.sum(dim=(1, 2)), k)
    idx = idx.tolist()
    return idx, feat[idx]


def select_maps(feat: torch.Tensor, channel_reduction: str | None, topk: int) -> list[tuple[str, torch.Tensor]]:
    """The single-channel maps to draw for one (C, H, W) tensor, each with a label suffix."""
    feat = feat.float()
    if channel_reduction is not None:
        return [('', reduce_channels(feat, channel_reduction)[0])]
    if topk > 0:
        idx, maps = topk_channels(feat, topk)
        return [(f'ch {i}', m) for i, m in zip(idx, maps)]
    return [('', feat.mean(dim=0) if feat.shape[0] == 3 else feat[0])]


def grid_shape(n: int, cols: int | None = None) -> tuple[int, int]:
    """Rows and columns for ``n`` panels: one row up to 3, then as square as possible; never fewer
    places than panels."""
    if n <= 0:
        return 0, 0
    cols = cols or (n if n <= 3 else math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


def to_uint8(featmap: np.ndarray | torch.Tensor) -> np.ndarray:
    """Min-max normalised to 0..255 (all zeros for a flat map)."""
    f = np.asarray(as_array(featmap), np.float32)
    lo, hi = float(f.min()), float(f.max())
    if not hi > lo:
        return np.zeros(f.shape, np.uint8)
    return cv2.convertScaleAbs(f, alpha=255.0 / (hi - lo), beta=-lo * 255.0 / (hi - lo))
