"""Window-by-window access to large pictures: decoded arrays (patches are views) and TIFF files
(tiled, striped, BigTIFF), where only the tiles or strips a window touches are read and decoded."""
from __future__ import annotations

import math
import os

import cv2
import numpy as np

from .errors import UserError
from .images import to_bgr_uint8

TIFF_SUFFIXES = ('.tif', '.tiff')


class ArrayReader:
    """A decoded BGR image: windows are views, nothing is copied."""

    def __init__(self, image: np.ndarray):
        self.image = image
        self.shape = image.shape[:2]

    def read(self, x1, y1, x2, y2) -> np.ndarray:
        return self.image[y1:y2, x1:x2]

    def close(self):
        pass


class TiffReader:
    """A TIFF read window by window through tifffile: a window costs the tiles (or strips) it touches."""

    def __init__(self, path: str):
        try:
            import tifffile
        except ImportError:  # pragma: no cover - a dependency of this package
            raise UserError('reading TIFF window by window needs tifffile: pip install tifffile') from None
        try:
            self.tif = tifffile.TiffFile(path)
            self.page = self.tif.pages.first if hasattr(self.tif.pages, 'first') else self.tif.pages[0]
            self.page = self.page.keyframe if hasattr(self.page, 'keyframe') else self.page
        except Exception as e:  # tifffile raises its own TiffFileError, ValueError, struct errors...
            raise UserError(f'{path}: not a readable TIFF ({str(e).splitlines()[0] if str(e) else type(e).__name__})') from None
        p = self.page
        if p.planarconfig != 1 and p.samplesperpixel > 1:
            raise UserError(f'{path}: planar (separate) TIFF layout is not supported; save it interleaved')
        self.path = path
        self.shape = (int(p.imagelength), int(p.imagewidth))
        if p.is_tiled:
            self.block = (int(p.tilelength), int(p.tilewidth))
        else:
            self.block = (int(min(p.rowsperstrip, p.imagelength)), int(p.imagewidth))
        self.across = math.ceil(self.shape[1] / self.block[1])
        self.channels = int(p.samplesperpixel)

    def _block(self, by: int, bx: int) -> np.ndarray:
        index = by * self.across + bx
        offset, count = self.page.dataoffsets[index], self.page.databytecounts[index]
        fh = self.tif.filehandle
        fh.seek(offset)
        data = fh.read(count)
        if len(data) != count:
            raise UserError(f'{self.path}: the file is truncated (tile {index} is incomplete)')
        try:
            seg, _, shape = self.page.decode(data, index, jpegtables=self.page.jpegtables)
        except Exception as e:
            raise UserError(f'{self.path}: cannot decode tile {index} ({e})') from None
        if seg is None:
            raise UserError(f'{self.path}: tile {index} is missing')
        return seg.reshape(shape[-3], shape[-2], shape[-1])

    def read(self, x1, y1, x2, y2) -> np.ndarray:
        bh, bw = self.block
        out = np.empty((y2 - y1, x2 - x1, self.channels), self.page.dtype)
        for by in range(y1 // bh, (y2 - 1) // bh + 1):
            for bx in range(x1 // bw, (x2 - 1) // bw + 1):
                blk = self._block(by, bx)
                ty1, tx1 = by * bh, bx * bw
                sy1, sx1 = max(y1, ty1), max(x1, tx1)
                sy2, sx2 = min(y2, ty1 + blk.shape[0], self.shape[0]), min(x2, tx1 + blk.shape[1], self.shape[1])
                out[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = blk[sy1 - ty1:sy2 - ty1, sx1 - tx1:sx2 - tx1]
        if self.channels >= 3:  # TIFF stores RGB(A); the models take BGR (alpha dropped)
            out = out[..., [2, 1, 0]]
        return to_bgr_uint8(out[..., 0] if self.channels == 1 else out)

    def close(self):
        self.tif.close()


def open_large(location: str, load) -> ArrayReader | TiffReader:
    """A TIFF file is read window by window; anything else is decoded once (``load``)."""
    if os.path.splitext(location)[1].lower() in TIFF_SUFFIXES and os.path.isfile(location):
        return TiffReader(location)
    return ArrayReader(load())


def thumbnail(reader, scale: float, band: int = 2048) -> np.ndarray:
    """The whole picture scaled by ``scale`` (<= 1), built band by band (bounded memory)."""
    h, w = reader.shape
    if scale >= 1 and isinstance(reader, ArrayReader):
        return reader.image
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    parts = []
    for y in range(0, h, band):
        y2 = min(h, y + band)
        oy1, oy2 = round(y * scale), round(y2 * scale)
        if oy2 > oy1:
            parts.append(cv2.resize(reader.read(0, y, w, y2), (out_w, oy2 - oy1), interpolation=cv2.INTER_AREA))
    return np.vstack(parts)[:out_h]
