"""Pure functions on feature maps: channel reduction, top-k, arrangement, and alignment of a map
computed on the letterboxed network input back onto the original image."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .errors import SettingsError, UserError

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


@dataclass
class LetterboxMeta:
    """Where the original image sits inside the network input.

    ori_hw: original image (h, w); input_hw: the batch input tensor (h, w); content box: the resized
    image inside it, (top, left, h, w). MMYOLO's LetterResize pads around it (``pad_param``),
    MMDetection's Pad pads bottom/right only (no ``pad_param``).
    """
    ori_hw: tuple[int, int]
    input_hw: tuple[int, int]
    content_tlhw: tuple[float, float, float, float]

    @classmethod
    def from_metainfo(cls, meta: dict) -> 'LetterboxMeta':
        ori_h, ori_w = meta['ori_shape'][:2]
        img_h, img_w = meta['img_shape'][:2]
        top = bottom = left = right = 0.0
        if meta.get('pad_param') is not None and len(meta['pad_param']) == 4:
            top, bottom, left, right = (float(v) for v in meta['pad_param'])
        input_hw = tuple(meta.get('batch_input_shape') or meta.get('pad_shape', (img_h, img_w))[:2])
        return cls((int(ori_h), int(ori_w)), (int(input_hw[0]), int(input_hw[1])),
                   (top, left, img_h - top - bottom, img_w - left - right))

    def image_to_feature_affine(self, feat_hw: tuple[int, int]) -> np.ndarray:
        """2x3 matrix taking an original-image pixel (x, y) to feature-map coordinates (j, i).

        Pixel centres: a feature cell of stride s covers input pixels [j*s, (j+1)*s).
        """
        top, left, ch, cw = self.content_tlhw
        sx, sy = cw / self.ori_hw[1], ch / self.ori_hw[0]  # original -> input scale
        stride_x, stride_y = self.input_hw[1] / feat_hw[1], self.input_hw[0] / feat_hw[0]
        return np.array([[sx / stride_x, 0, (left + 0.5 * sx) / stride_x - 0.5],
                         [0, sy / stride_y, (top + 0.5 * sy) / stride_y - 0.5]], np.float64)


def _as_array(featmap: np.ndarray | torch.Tensor) -> np.ndarray:
    return featmap.detach().float().cpu().numpy() if isinstance(featmap, torch.Tensor) else np.asarray(featmap)


def align_to_image(featmap: np.ndarray | torch.Tensor, meta: LetterboxMeta | None,
                   image_hw: tuple[int, int] | None = None) -> np.ndarray:
    """A (h, w) map computed on the network input, resampled onto the original image's pixels
    (float32, or uint8 for a uint8 map).

    Without meta the map is stretched over ``image_hw`` (for maps that already cover the image).
    """
    featmap = _as_array(featmap)
    featmap = np.ascontiguousarray(featmap, dtype=np.uint8 if featmap.dtype == np.uint8 else np.float32)
    if meta is None:
        h, w = image_hw
        return cv2.resize(featmap, (w, h), interpolation=cv2.INTER_LINEAR)
    fast = _align_by_resizing(featmap, meta)
    if fast is not None:
        return fast
    m = meta.image_to_feature_affine(featmap.shape[:2])
    h, w = meta.ori_hw
    return cv2.warpAffine(featmap, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _align_by_resizing(featmap: np.ndarray, meta: LetterboxMeta) -> np.ndarray | None:
    """The same placement as the affine warp, as two resizes (several times faster than warpAffine):
    the map upsampled to the network input (cell j covers pixels [j*s, (j+1)*s) under OpenCV's
    pixel-centre convention), the content box cut out, resized to the original image. Only when the
    stride and the content box are whole pixels (always so for MMYOLO's LetterResize and MMDet's Resize)."""
    (ih, iw), (fh, fw) = meta.input_hw, featmap.shape[:2]
    top, left, ch, cw = meta.content_tlhw
    if ih % fh or iw % fw or any(v != int(v) for v in (top, left, ch, cw)):
        return None
    top, left, ch, cw = int(top), int(left), int(ch), int(cw)
    if ch < 1 or cw < 1 or top + ch > ih or left + cw > iw:
        return None
    up = cv2.resize(featmap, (iw, ih), interpolation=cv2.INTER_LINEAR)[top:top + ch, left:left + cw]
    h, w = meta.ori_hw
    return cv2.resize(up, (w, h), interpolation=cv2.INTER_LINEAR)


def to_uint8(featmap: np.ndarray | torch.Tensor) -> np.ndarray:
    """Min-max normalised to 0..255 (all zeros for a flat map)."""
    f = np.asarray(_as_array(featmap), np.float32)
    lo, hi = float(f.min()), float(f.max())
    if not hi > lo:
        return np.zeros(f.shape, np.uint8)
    return cv2.convertScaleAbs(f, alpha=255.0 / (hi - lo), beta=-lo * 255.0 / (hi - lo))
