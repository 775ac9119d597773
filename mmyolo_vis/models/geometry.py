"""Where the original picture sits in the network input, and how a map made on the input goes back onto it.

- ``LetterboxMeta``: a detector's test pipeline resizes and pads (MMYOLO's LetterResize around the picture,
  MMDetection's Pad at the bottom and right); ``align_to_image`` resamples an input map onto the original
  picture's pixels, ``to_input_coords`` takes original-picture boxes into the input.
- ``CropMeta``: a classifier's test pipeline resizes and crops; measured from the pipeline itself (see
  ``models.classifier``), ``CropMeta.place`` puts an input map back and says which pixels the crop kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch


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
        input_hw = tuple(meta.get('batch_input_shape') or meta.get('pad_shape', (img_h, img_w))[:2])
        input_hw = (int(input_hw[0]), int(input_hw[1]))
        if meta.get('pad_param') is not None and len(meta['pad_param']) == 4:  # MMYOLO: padded around
            top, bottom, left, right = (float(v) for v in meta['pad_param'])
            return cls((int(ori_h), int(ori_w)), input_hw, (top, left, img_h - top - bottom, img_w - left - right))
        # MMDetection: the picture sits at the top left. Its Pad transform (YOLOX's and RTMDet's test
        # pipelines) sets img_shape to the *padded* size, so the resized picture's size comes from
        # scale_factor (Resize stores new size / old size, exactly), bounded by img_shape.
        content_h, content_w = float(img_h), float(img_w)
        scale_factor = meta.get('scale_factor')
        if scale_factor is not None and len(scale_factor) >= 2:
            content_w = min(content_w, float(round(ori_w * float(scale_factor[0]))))
            content_h = min(content_h, float(round(ori_h * float(scale_factor[1]))))
        return cls((int(ori_h), int(ori_w)), input_hw, (0.0, 0.0, content_h, content_w))

    def image_to_feature_affine(self, feat_hw: tuple[int, int]) -> np.ndarray:
        """2x3 matrix taking an original-image pixel (x, y) to feature-map coordinates (j, i).

        Pixel centres: a feature cell of stride s covers input pixels [j*s, (j+1)*s).
        """
        top, left, ch, cw = self.content_tlhw
        sx, sy = cw / self.ori_hw[1], ch / self.ori_hw[0]  # original -> input scale
        stride_x, stride_y = self.input_hw[1] / feat_hw[1], self.input_hw[0] / feat_hw[0]
        return np.array([[sx / stride_x, 0, (left + 0.5 * sx) / stride_x - 0.5],
                         [0, sy / stride_y, (top + 0.5 * sy) / stride_y - 0.5]], np.float64)


def as_array(featmap: np.ndarray | torch.Tensor) -> np.ndarray:
    return featmap.detach().float().cpu().numpy() if isinstance(featmap, torch.Tensor) else np.asarray(featmap)


def align_to_image(featmap: np.ndarray | torch.Tensor, meta: LetterboxMeta | None,
                   image_hw: tuple[int, int] | None = None) -> np.ndarray:
    """A (h, w) map computed on the network input, resampled onto the original image's pixels
    (float32, or uint8 for a uint8 map).

    Without meta the map is stretched over ``image_hw`` (for maps that already cover the image).
    """
    featmap = as_array(featmap)
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


def maps_to_input(maps: np.ndarray, meta: LetterboxMeta, fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(K, H, W) maps on the original image -> ((K, h, w) maps on the network input, (h, w) bool mask of the
    input pixels the picture covers): each map resized into the content box, ``fill`` on the padding. The
    reverse of ``align_to_image``, for measures that change the input's pixels in the order a map ranks them."""
    ih, iw = meta.input_hw
    top, left, ch, cw = (int(round(v)) for v in meta.content_tlhw)
    ch, cw = max(1, min(ch, ih - top)), max(1, min(cw, iw - left))
    out = np.full((len(maps), ih, iw), fill, np.float32)
    for k, m in enumerate(maps):
        out[k, top:top + ch, left:left + cw] = cv2.resize(np.ascontiguousarray(m, np.float32), (cw, ch),
                                                          interpolation=cv2.INTER_LINEAR)
    valid = np.zeros((ih, iw), bool)
    valid[top:top + ch, left:left + cw] = True
    return out, valid


def to_input_coords(boxes: np.ndarray, meta) -> np.ndarray:
    """Original-image boxes -> network-input boxes, through the letterbox meta."""
    top, left, ch, cw = meta.content_tlhw
    sx, sy = cw / meta.ori_hw[1], ch / meta.ori_hw[0]
    return boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([left, top, left, top], np.float32)


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
