"""Writing pictures and raw tensors."""
from __future__ import annotations

import os

import cv2
import numpy as np

from .errors import UserError
from .images import swap_rb


def _parent(path: str):
    parent = os.path.dirname(path)
    if parent:
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as e:
            raise UserError(f'{parent}: cannot create the folder ({e.strerror})') from None


def write_rgb(path: str, rgb: np.ndarray):
    _parent(path)
    ok = False
    try:
        ok = cv2.imwrite(path, swap_rb(rgb))
    except cv2.error:
        pass
    if not ok:
        raise UserError(f'{path}: cannot write the picture (check the folder and the file extension)')


def write_npz(path: str, arrays: dict):
    _parent(path)
    try:
        np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})
    except OSError as e:
        raise UserError(f'{path}: cannot write ({e.strerror})') from None
