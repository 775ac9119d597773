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
from ..core.images import check_pixels, to_bgr_uint8

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
        if not self.page.is_tiled:  # strips: a band of whole rows, kept for the next windows of the row
            out = self._band_rows(y1, y2)[:, x1:x2]
        else:
            out = self._read_tiles(x1, y1, x2, y2)
        if self.channels >= 3:  # TIFF stores RGB(A); the models take BGR (alpha dropped)
            out = out[..., [2, 1, 0]]
        return to_bgr_uint8(out[..., 0] if self.channels == 1 else out)

    def _read_tiles(self, x1, y1, x2, y2) -> np.ndarray:
        bh, bw = self.block
        out = np.empty((y2 - y1, x2 - x1, self.channels), self.page.dtype)
        for by in range(y1 // bh, (y2 - 1) // bh + 1):
            for bx in range(x1 // bw, (x2 - 1) // bw + 1):
                blk = self._block(by, bx)
                ty1, tx1 = by * bh, bx * bw
                sy1, sx1 = max(y1, ty1), max(x1, tx1)
                sy2, sx2 = min(y2, ty1 + blk.shape[0], self.shape[0]), min(x2, tx1 + blk.shape[1], self.shape[1])
                out[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = blk[sy1 - ty1:sy2 - ty1, sx1 - tx1:sx2 - tx1]
        return out

    # ---------------------------------------------------------------- strips
    # A strip-organised TIFF (tifffile's default: often one strip for the whole picture) is read as a
    # stream of rows, top down: the rows of the current band of windows are kept (the windows of one row of
    # patches share them; the next row of patches keeps the overlap and decodes only the rows below), so every
    # strip is decoded once per pass over the picture. A strip bigger than STREAM_BYTES that is uncompressed or
    # deflate-compressed (with or without the horizontal predictor) is decoded incrementally (zlib), so memory
    # holds a band, never the whole strip; other compressions decode one strip at a time.
    STREAM_BYTES = 16 * 2**20

    def _band_rows(self, y1: int, y2: int) -> np.ndarray:
        band = getattr(self, '_band', None)
        if band is None or y1 < self._band_y0 or y1 > self._band_y0 + len(band):
            self._start_rows(y1)  # the first window, a jump back (a new pass) or a gap: from the strip of y1
            band = self._band
        elif y1 > self._band_y0:
            band = band[y1 - self._band_y0:]
        while len(band) < y2 - y1:
            rows = self._next_rows(y2 - y1 - len(band))
            band = np.concatenate([band, rows]) if len(band) else rows
        self._band, self._band_y0 = band, y1
        return band[:y2 - y1]

    def _start_rows(self, y: int):
        rps = self.block[0]
        self._row = (y // rps) * rps  # the next row the stream gives
        self._pending = None  # decoded rows of the current strip not given yet
        self._stream = None
        self._band = np.empty((0, self.shape[1], self.channels), self.page.dtype)
        self._band_y0 = self._row
        skip = y - self._row
        while skip > 0:
            skip -= len(self._next_rows(skip))
        self._band_y0 = y

    def _next_rows(self, n: int) -> np.ndarray:
        """Up to ``n`` (at least one) next rows of the picture."""
        if self._pending is not None and len(self._pending):
            rows, self._pending = self._pending[:n], self._pending[n:]
        elif self._stream is not None and self._stream.rows_left:
            rows = self._stream.rows(n)
        else:
            if self._row >= self.shape[0]:
                raise UserError(f'{self.path}: read past the last row')
            index = self._row // self.block[0]
            strip_rows = min(self.block[0], self.shape[0] - self._row)
            stream = _StripStream.open(self, index, strip_rows)
            if stream is not None:
                self._stream = stream
                rows = stream.rows(n)
            else:
                self._pending = self._block(index, 0)
                rows, self._pending = self._pending[:n], self._pending[n:]
        self._row += len(rows)
        return rows

    def close(self):
        self._cache.clear()
        self.tif.close()


class _StripStream:
    """One strip decoded a few rows at a time: uncompressed bytes are read as they are, deflate through
    zlib's incremental decompressor (bounded output per call); the horizontal predictor is undone per row."""

    CHUNK = 2**18  # compressed bytes read at a time

    @classmethod
    def open(cls, reader: TiffReader, index: int, strip_rows: int):
        page = reader.page
        compression = int(page.compression)
        predictor = int(getattr(page, 'predictor', 1) or 1)
        itemsize = np.dtype(page.dtype).itemsize
        row_bytes = reader.shape[1] * reader.channels * itemsize
        if (row_bytes * strip_rows <= reader.STREAM_BYTES or compression not in (1, 8, 32946)
                or predictor not in (1, 2) or np.dtype(page.dtype).kind not in 'ui'
                or int(page.bitspersample) != 8 * itemsize):  # packed 1/12-bit samples: tifffile decodes them
            return None
        return cls(reader, index, strip_rows, compression, predictor, row_bytes)

    def __init__(self, reader, index, strip_rows, compression, predictor, row_bytes):
        import zlib
        self.reader = reader
        self.pos = int(reader.page.dataoffsets[index])
        self.left = int(reader.page.databytecounts[index])  # compressed bytes not read yet
        self.rows_left = strip_rows
        self.row_bytes = row_bytes
        self.predictor = predictor
        self.unzip = zlib.decompressobj() if compression != 1 else None
        self.buf = bytearray()
        self.dtype = np.dtype(reader.page.dtype).newbyteorder(reader.tif.byteorder)
        reader.decoded += 1

    def _read(self, size: int) -> bytes:
        fh = self.reader.tif.filehandle
        fh.seek(self.pos)
        data = fh.read(min(size, self.left))
        self.pos += len(data)
        self.left -= len(data)
        return data

    def rows(self, n: int) -> np.ndarray:
        n = min(n, self.rows_left)
        need = n * self.row_bytes
        while len(self.buf) < need:
            want = need - len(self.buf)
            if self.unzip is None:
                data = self._read(want)
            else:
                tail = self.unzip.unconsumed_tail
                data = self.unzip.decompress(tail if tail else self._read(self.CHUNK), want)
            if not data and (self.left == 0 and (self.unzip is None or not self.unzip.unconsumed_tail)):
                raise UserError(f'{self.reader.path}: the file is truncated (a strip ends early)')
            self.buf += data
        w, c = self.reader.shape[1], self.reader.channels
        rows = np.frombuffer(self.buf, self.dtype, count=need // self.dtype.itemsize).reshape(n, w, c).copy()
        del self.buf[:need]
        self.rows_left -= n
        if self.predictor == 2:  # horizontal differencing: a running sum along each row (wrapping)
            rows = np.cumsum(rows, axis=1, dtype=rows.dtype)
        return rows.astype(rows.dtype.newbyteorder('='), copy=False)


def open_large(location: str, load, max_pixels: int | None = None) -> ArrayReader | TiffReader:
    """A TIFF file is read window by window; anything else is decoded once (``load``, which applies its own
    pixel limit). A TIFF above ``max_pixels`` (its header's size) is refused before any pixel is read."""
    if os.path.splitext(location)[1].lower() in TIFF_SUFFIXES and os.path.isfile(location):
        reader = TiffReader(location)
        try:
            h, w = reader.shape
            check_pixels((w, h), location, max_pixels)
        except UserError:
            reader.close()
            raise
        return reader
    return ArrayReader(load())


def thumbnail(reader, scale: float, band: int | None = None) -> np.ndarray:
    """The whole picture scaled by ``scale`` (<= 1), built band by band (bounded memory: by default bands of
    about 16 MB of pixels, at least 64 rows)."""
    h, w = reader.shape
    if scale >= 1 and isinstance(reader, ArrayReader):
        return reader.image
    band = band or max(64, min(2048, 2**24 // max(1, w * 3)))
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    parts = []
    for y in range(0, h, band):
        y2 = min(h, y + band)
        oy1, oy2 = round(y * scale), (out_h if y2 == h else round(y2 * scale))  # the last band ends the picture
        if oy2 > oy1:
            parts.append(cv2.resize(reader.read(0, y, w, y2), (out_w, oy2 - oy1), interpolation=cv2.INTER_AREA))
    return np.vstack(parts)[:out_h]
