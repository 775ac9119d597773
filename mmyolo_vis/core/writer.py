"""Writing pictures and raw tensors."""
from __future__ import annotations

import json
import os

import cv2
import numpy as np

from .errors import UserError
from .images import swap_rb


def ensure_parent(path: str):
    """Create the folder ``path`` goes into; a path that cannot be written there is one UserError, said
    before any work (a long evaluation must not end on it)."""
    parent = os.path.dirname(path)
    if parent:
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as e:
            raise UserError(f'{path}: cannot create the folder {parent} ({e.strerror}); choose another path') from None
    if os.path.isdir(path):
        raise UserError(f'{path}: is a folder; give a file name')
    if not os.access(parent or '.', os.W_OK):
        raise UserError(f'{path}: the folder {parent or "."} is not writable; choose another path')


def write_rgb(path: str, rgb: np.ndarray):
    ensure_parent(path)
    ok = False
    try:
        ok = cv2.imwrite(path, swap_rb(rgb))
    except cv2.error:
        pass
    if not ok:
        raise UserError(f'{path}: cannot write the picture (check the folder and the file extension)')


def write_json(path: str, data):
    ensure_parent(path)
    try:
        with open(path, 'w') as f:
            json.dump(data, f)
    except OSError as e:
        raise UserError(f'{path}: cannot write ({e.strerror})') from None


def write_npz(path: str, arrays: dict):
    ensure_parent(path)
    try:
        np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})
    except OSError as e:
        raise UserError(f'{path}: cannot write ({e.strerror})') from None
