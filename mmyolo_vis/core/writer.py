"""Writing outputs (pictures, raw tensors, JSON, CSV, plots), each atomically: the bytes go to a hidden
temporary name in the same folder and are renamed into place once complete, so that an interrupted run
(Ctrl-C, a full disk, a crash) never leaves a half-written file under an output's name."""
from __future__ import annotations

import contextlib
import json
import os
import uuid

import cv2
import numpy as np

from .errors import UserError
from .images import swap_rb

NAME_MAX = 255  # bytes in one file name on the usual file systems (ext4, xfs, btrfs, APFS, NTFS)


def name_max(folder: str) -> int:
    try:
        return os.pathconf(folder or '.', 'PC_NAME_MAX')
    except (OSError, ValueError, AttributeError):
        return NAME_MAX


def check_name(path: str):
    """Refuse an output name the file system cannot hold (said before any work is done)."""
    name = os.path.basename(path)
    size = len(os.fsencode(name))
    limit = name_max(os.path.dirname(path) if os.path.isdir(os.path.dirname(path) or '.') else '.')
    if size > limit:
        raise UserError(f'{path}: the file name is {size} bytes, longer than the {limit} the file system allows; '
                        'rename the input or choose a shorter output name')


def ensure_parent(path: str):
    """Create the folder ``path`` goes into; a path that cannot be written there is one UserError, said
    before any work (a long evaluation must not end on it)."""
    check_name(path)
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


def temporary_name(path: str) -> str:
    """A hidden name beside ``path`` with its extension (writers choose the format from it); folder scans
    skip hidden files."""
    return os.path.join(os.path.dirname(path), f'.{uuid.uuid4().hex[:12]}.part{os.path.splitext(path)[1]}')


@contextlib.contextmanager
def atomic_path(path: str):
    """``with atomic_path(p) as tmp: write(tmp)``: ``p`` appears only complete. On any exception (and on
    KeyboardInterrupt) the temporary file is removed and ``p`` is left as it was."""
    ensure_parent(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_rgb(path: str, rgb: np.ndarray):
    with atomic_path(path) as tmp:
        ok = False
        try:
            ok = cv2.imwrite(tmp, swap_rb(rgb))
        except cv2.error:
            pass
        if not ok:
            raise UserError(f'{path}: cannot write the picture (check the folder and the file extension)')


def write_text(path: str, text: str):
    try:
        with atomic_path(path) as tmp, open(tmp, 'w') as f:
            f.write(text)
    except OSError as e:
        raise UserError(f'{path}: cannot write ({e.strerror})') from None


def write_json(path: str, data, indent: int | None = None):
    write_text(path, json.dumps(data, indent=indent))


def write_npz(path: str, arrays: dict):
    try:
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
    except OSError as e:
        raise UserError(f'{path}: cannot write ({e.strerror})') from None
