"""Window-by-window access to large pictures: decoded arrays (patches are views) and TIFF files
(tiled, striped, BigTIFF), where only the tiles or strips a window touches are read and decoded."""
from __future__ import annotations

import logging
import math
import os
from collections import OrderedDict

import cv2
import numpy as np

from ..core.errors import UserError
from ..core.images import to_bgr_uint8

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


class _TiffLog(logging.Handler):
    """While open (a context), keeps tifffile's log messages instead of letting them reach stderr."""

    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        self.messages.append(message.split('> ', 1)[-1] if message.startswith('<tifffile.') else message)

    def __enter__(self):
        self.logger = logging.getLogger('tifffile')
        self.logger.addHandler(self)
        self.propagate, self.logger.propagate = self.logger.propagate, False
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.propagate = self.propagate


class TiffReader:
    """A TIFF read window by window through tifffile: a window costs the tiles (or strips) it touches.

    Overlapping windows share tiles: decoded tiles are kept in a least-recently-used cache of at most
    ``cache_bytes``, so neighbouring windows of a row reuse them instead of decoding them again. (A cache
    holding whole rows of tiles for the next row of windows costs more memory than it saves time: 128 MiB
    raised the peak of the 20000 px benchmark from 1.1 to 1.4 GiB.)"""

    def __init__(self, path: str, cache_bytes: int = 32 * 2**20):
        try:
            import tifffile
        except ImportError:  # pragma: no cover - a dependency of this package
            raise UserError('reading TIFF window by window needs tifffile: pip install tifffile') from None
        said = _TiffLog()  # tifffile logs what it finds wrong (on stderr, unasked): it becomes our message
        try:
            with said:
                self.tif = tifffile.TiffFile(path)
                self.page = self.tif.pages.first if hasattr(self.tif.pages, 'first') else self.tif.pages[0]
                self.page = self.page.keyframe if hasattr(self.page, 'keyframe') else self.page
        except Exception as e:  # tifffile raises its own TiffFileError, ValueError, IndexError(0) for no page...
            text = str(e).splitlines()[0] if str(e).strip() else ''
            reason = said.messages[0] if said.messages else text if not text.isdigit() and text else 'no image in it'
            raise UserError(f'{path}: not a readable TIFF ({reason})') from None
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
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cached = 0  # bytes held by the cache
        self.decoded = 0  # tiles decoded so far

    def _block(self, by: int, bx: int) -> np.ndarray:
        index = by * self.across + bx
        blk = self._cache.get(index)
        if blk is not None:
            self._cache.move_to_end(index)
            return blk
        blk = self._decode(index)
        self.decoded += 1
        self._cache[index] = blk
        self._cached += blk.nbytes
        while self._cached > self.cache_bytes and self._cache:
            self._cached -= self._cache.popitem(last=False)[1].nbytes
        return blk

    def _decode(self, index: int) -> np.ndarray:
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
        self._cache.clear()
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
        oy1, oy2 = round(y * scale), (out_h if y2 == h else round(y2 * scale))  # the last band ends the picture
        if oy2 > oy1:
            parts.append(cv2.resize(reader.read(0, y, w, y2), (out_w, oy2 - oy1), interpolation=cv2.INTER_AREA))
    return np.vstack(parts)[:out_h]
