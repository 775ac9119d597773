"""Input collection (files, folders, URLs) and the output paths that mirror them.

Outputs mirror the input tree, never collide, and never overwrite an input.
"""
from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, decode_image, is_image_file, read_image


def is_url(s: str) -> bool:
    return s.startswith(('http://', 'https://'))


@dataclass
class Source:
    """One picture to process: where it comes from and the output name it gets (relative)."""
    location: str  # a local path or a URL
    rel: str  # output path relative to the output folder, without suffix change yet

    def load(self, max_pixels: int | None = DEFAULT_MAX_PIXELS, hint: str = '') -> np.ndarray:
        """The decoded BGR picture; one above ``max_pixels`` is refused before decoding (``hint`` ends the
        message)."""
        if is_url(self.location):
            return decode_image(download(self.location), self.location, max_pixels, hint)
        return read_image(self.location, max_pixels, hint)

    @property
    def name(self) -> str:
        return self.location


def download(url: str, timeout: float = 30.0) -> bytes:
    req = urllib.request.Request(url, headers={'User-Agent': 'mmyolo-vis'})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, 'reason', e)
        raise UserError(f'{url}: cannot download ({reason}); check the address and the network') from None


def _list_folder(folder: str, skip: set[str] = frozenset()) -> list[str]:
    """Image files under ``folder``, sorted; hidden entries and the folders in ``skip`` (real paths) left out."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.')
                         and os.path.realpath(os.path.join(root, d)) not in skip)
        found.extend(os.path.join(root, f) for f in sorted(files) if is_image_file(f) and not f.startswith('.'))
    return found


def collect_sources(args: list[str], out_dir: str | None = None) -> tuple[list[Source], list[str]]:
    """Expand the ``img`` arguments into sources. Returns (sources, problems): one line per bad argument.
    A folder's search skips ``out_dir`` (the tool's own outputs, when it lies inside an input folder)."""
    problems: list[str] = []
    skip = {os.path.realpath(out_dir)} if out_dir else set()
    entries: list[tuple[str, str]] = []  # (location, local root used for naming, or '' for URLs)
    for arg in args:
        if is_url(arg):
            entries.append((arg, ''))
        elif os.path.isdir(arg):
            files = _list_folder(arg, skip)
            if not files:
                problems.append(f'{arg}: the folder holds no images (looked for {", ".join(IMAGE_EXTENSIONS)})')
            entries.extend((f, os.path.abspath(arg)) for f in files)
        elif os.path.isfile(arg):
            entries.append((arg, os.path.dirname(os.path.abspath(arg))))
        else:
            problems.append(f'{arg}: no such file or folder')
    local_roots = [root for _, root in entries if root]
    base = os.path.commonpath(local_roots) if local_roots else ''
    sources, used = [], set()
    for location, root in entries:
        if root:
            rel = os.path.relpath(os.path.abspath(location), base)
        else:
            name = os.path.basename(urllib.parse.urlparse(location).path) or 'download'
            rel = os.path.join('url', name if is_image_file(name) else name + '.jpg')
        stem, ext = os.path.splitext(rel)
        candidate, n = rel, 1
        while candidate in used:  # the same file twice, or two URLs with one name
            candidate = f'{stem}_{n}{ext}'
            n += 1
        used.add(candidate)
        sources.append(Source(location, candidate))
    return sources, problems


def ensure_writable_dir(path: str, option: str = '--out-dir'):
    """The output folder exists (made here) and can be written; ``option`` is the one the user sets it with."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UserError(f'{path}: cannot create the output folder ({e.strerror}); choose another {option}') from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f'{path}: the output folder is not writable; choose another {option}')
