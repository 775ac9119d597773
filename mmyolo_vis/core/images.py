"""Reading pictures the way users have them: 8/16-bit, grayscale, RGBA, any extension OpenCV knows."""
from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from .errors import UserError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm', '.pbm', '.pnm',
                    '.pam', '.pfm', '.hdr', '.pic', '.jp2', '.sr', '.ras')


def is_image_file(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def to_bgr_uint8(img: np.ndarray) -> np.ndarray:
    """Any decoded picture as 3-channel 8-bit BGR: gray is repeated, alpha dropped, 16-bit scaled down."""
    if img.dtype == np.uint16:
        img = (img / 257.0).round().astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        scale = 255.0 if img.max() <= 1.0 else 1.0
        img = np.clip(img * scale, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise UserError(f'unsupported pixel type {img.dtype}: convert the picture to 8- or 16-bit')
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif not (img.ndim == 3 and img.shape[2] == 3):
        raise UserError(f'unsupported picture layout {img.shape}: expected gray, BGR or BGRA')
    return np.ascontiguousarray(img)


DEFAULT_MAX_PIXELS = 100_000_000


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the file's header, without decoding the pixels; None when Pillow cannot tell."""
    import io

    from PIL import Image
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # our own limit is said by check_pixels
    try:
        with Image.open(io.BytesIO(data)) as im:  # reads the header only
            return im.size
    except Exception:  # Pillow does not know the format (OpenCV may): no early check
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _radiance_size(data: bytes) -> tuple[int, int] | None:
    """Radiance HDR (``#?RADIANCE``): header lines up to a blank one, then the resolution line, e.g.
    ``-Y 15000 +X 15000`` (the axes may come in either order)."""
    end = data.find(b'\n\n', 0, 65536)
    if end < 0:
        return None
    line = data[end + 2:data.find(b'\n', end + 2, end + 200)].split()
    if len(line) != 4:
        return None
    try:
        sizes = {line[0][-1:]: int(line[1]), line[2][-1:]: int(line[3])}
    except ValueError:
        return None
    return (sizes[b'X'], sizes[b'Y']) if set(sizes) == {b'X', b'Y'} else None


def _netpbm_size(data: bytes) -> tuple[int, int] | None:
    """PAM (``P7``: WIDTH / HEIGHT lines) and PFM (``PF`` / ``Pf``: ``width height``) headers."""
    head = data[:4096].split(b'ENDHDR')[0] if data.startswith(b'P7') else data[:4096]
    words = [w for line in head.splitlines() for w in line.split(b'#')[0].split()]
    try:
        if data.startswith(b'P7'):
            return int(words[words.index(b'WIDTH') + 1]), int(words[words.index(b'HEIGHT') + 1])
        return int(words[1]), int(words[2])
    except (ValueError, IndexError):
        return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """TIFF and BigTIFF through tifffile, which reads the first page's tags only."""
    import io
    import logging
    try:
        import tifffile
    except ImportError:  # pragma: no cover - a dependency of this package
        return None
    log = logging.getLogger('tifffile')
    level, log.level = log.level, logging.CRITICAL  # tifffile logs what it finds wrong: the caller says it
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            return int(page.imagewidth), int(page.imagelength)
    except Exception:
        return None
    finally:
        log.level = level


def pixel_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an encoded picture read from its header, never from its pixels: Pillow's header
    parsers, then the formats OpenCV decodes and Pillow does not know (Radiance HDR, PAM, PFM) and TIFF
    through tifffile. None: no header this can read (the picture is then not decoded at all)."""
    size = header_size(data)
    if size is not None:
        return size
    if data.startswith(b'#?'):
        return _radiance_size(data)
    if data[:2] in (b'P7', b'PF', b'Pf'):
        return _netpbm_size(data)
    if data[:4] in (b'II*\0', b'MM\0*', b'II+\0', b'MM\0+'):
        return _tiff_size(data)
    return None


def check_pixels(size: tuple[int, int] | None, name: str, max_pixels: int | None, hint: str = ''):
    """Refuse, before decoding, a picture above ``max_pixels`` (a few hundred kB of PNG can hold gigabytes)."""
    if size is None or not max_pixels:
        return
    w, h = size
    if w * h > max_pixels:
        raise UserError(f'{name}: {w}x{h} is {w * h / 1e6:.3g} MP, above the limit of {max_pixels / 1e6:g} MP '
                        f'(pass --max-pixels {w * h} to decode it anyway{hint})')


def decode_image(data: bytes, name: str, max_pixels: int | None = DEFAULT_MAX_PIXELS, hint: str = '') -> np.ndarray:
    """Decode bytes (a file's or a download's) into BGR uint8, or raise a UserError naming the file.
    A picture above ``max_pixels`` (read from its header) is refused before it is decoded."""
    if not data:
        raise UserError(f'{name}: the file is empty')
    size = pixel_size(data)
    if size is None:  # OpenCV would decode it with no limit known beforehand (and some of it is not an image)
        raise UserError(f'{name}: not a readable image (corrupt, or a format whose size cannot be read before '
                        'decoding: convert it to PNG, JPEG or TIFF)')
    check_pixels(size, name, max_pixels, hint)
    with quiet_opencv():
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise UserError(f'{name}: not a readable image (corrupt or unsupported format)')
    return to_bgr_uint8(img)


class quiet_opencv:
    """OpenCV's decoders log what they find wrong on stderr (several lines for one 5-channel TIFF); the
    caller says it in one line instead."""

    def __enter__(self):
        self.level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        # libpng and libjpeg print on the process's stderr themselves ("libpng error: PNG input buffer is
        # incomplete"): file descriptor 2 points at /dev/null while OpenCV decodes
        self.saved = None
        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:  # no file descriptor 2 (embedded interpreters): let the decoder speak
            self.saved = None

    def __exit__(self, *exc):
        if self.saved is not None:
            os.dup2(self.saved, 2)
            os.close(self.saved)
        cv2.utils.logging.setLogLevel(self.level)


def read_bytes(path: str) -> bytes:
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        raise UserError(f'{path}: no such file') from None
    except IsADirectoryError:
        raise UserError(f'{path}: is a folder, not an image') from None
    except OSError as e:
        raise UserError(f'{path}: cannot read ({e.strerror})') from None


def read_image(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS, hint: str = '') -> np.ndarray:
    return decode_image(read_bytes(path), path, max_pixels, hint)


def check_image_file(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS):
    """For a picture another library will decode (a dataset pipeline's LoadImageFromFile): there, readable
    from its header, and not above ``max_pixels``; the same one-line errors as ``read_image``."""
    data = read_bytes(path)
    if not data:
        raise UserError(f'{path}: the file is empty')
    size = pixel_size(data)
    if size is None:
        raise UserError(f'{path}: not a readable image (corrupt, or a format whose size cannot be read before '
                        'decoding: convert it to PNG, JPEG or TIFF)')
    check_pixels(size, path, max_pixels)


def swap_rb(img: np.ndarray) -> np.ndarray:
    """BGR <-> RGB as a new contiguous array (OpenCV's copy is several times faster than numpy's [..., ::-1])."""
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
