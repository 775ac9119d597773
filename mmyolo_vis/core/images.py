"""Reading pictures the way users have them: 8/16-bit, grayscale, RGBA, any extension OpenCV knows."""
from __future__ import annotations

import os

import cv2
import numpy as np

from .errors import UserError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm', '.jp2')


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


def check_pixels(size: tuple[int, int] | None, name: str, max_pixels: int | None, hint: str = ''):
    """Refuse, before decoding, a picture above ``max_pixels`` (a few hundred kB of PNG can hold gigabytes)."""
    if size is None or not max_pixels:
        return
    w, h = size
    if w * h > max_pixels:
        raise UserError(f'{name}: {w}x{h} is {w * h / 1e6:.0f} MP, above the limit of {max_pixels / 1e6:g} MP '
                        f'(pass --max-pixels {w * h} to decode it anyway{hint})')


def decode_image(data: bytes, name: str, max_pixels: int | None = DEFAULT_MAX_PIXELS, hint: str = '') -> np.ndarray:
    """Decode bytes (a file's or a download's) into BGR uint8, or raise a UserError naming the file.
    A picture above ``max_pixels`` (read from its header) is refused before it is decoded."""
    if not data:
        raise UserError(f'{name}: the file is empty')
    check_pixels(header_size(data), name, max_pixels, hint)
    buf = np.frombuffer(data, np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise UserError(f'{name}: not a readable image (corrupt or unsupported format)')
    return to_bgr_uint8(img)


def read_image(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS, hint: str = '') -> np.ndarray:
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise UserError(f'{path}: no such file') from None
    except IsADirectoryError:
        raise UserError(f'{path}: is a folder, not an image') from None
    except OSError as e:
        raise UserError(f'{path}: cannot read ({e.strerror})') from None
    return decode_image(data, path, max_pixels, hint)


def swap_rb(img: np.ndarray) -> np.ndarray:
    """BGR <-> RGB as a new contiguous array (OpenCV's copy is several times faster than numpy's [..., ::-1])."""
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
