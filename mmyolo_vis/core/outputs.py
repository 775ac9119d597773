"""Every output name of a run, planned before the first image is read, so that no two outputs collide and
none overwrites an input.

Each input gets its picture (the input's relative path under the output folder; an extension OpenCV cannot
write becomes ``.png``) and, for the side outputs the run writes, names built on a stem: ``<stem>.npz``,
``<stem>.json``, ``<stem>_faithfulness.json``, ``<stem>_debug<ext>``, ``<stem>_patches/``, ``<stem>_box<k>_<class><ext>``. Where two
inputs would share a name (``a.jpg`` and ``a.png`` both giving ``a.json``; ``a.jpg``'s debug picture and
the picture of an input ``a_debug.jpg``), the stem keeps the source extension (``a_png.json``), then a
counter. Names are compared case-insensitively (some file systems are).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import UserError

KEEP_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
SIDE_KINDS = ('npz', 'json', 'faithfulness', 'debug', 'patches', 'box')
EXACT_KINDS = ('npz', 'json', 'faithfulness', 'debug')  # one file each (the others: a folder, a prefix)


@dataclass(frozen=True)
class OutputNames:
    """The output paths of one input."""
    picture: str
    stem: str  # path without extension that the side outputs are named from
    ext: str  # the picture's extension

    @property
    def npz(self) -> str:
        return self.stem + '.npz'

    @property
    def json(self) -> str:
        return self.stem + '.json'

    @property
    def faithfulness(self) -> str:
        return self.stem + '_faithfulness.json'

    @property
    def debug(self) -> str:
        return self.stem + '_debug' + self.ext

    @property
    def patch_dir(self) -> str:
        return self.stem + '_patches'

    def patch(self, i: int, x: int, y: int) -> str:
        return os.path.join(self.patch_dir, f'{i:04d}_{x}_{y}.jpg')

    def box(self, k: int, class_name) -> str:
        return f'{self.stem}_box{k}_{class_name}{self.ext}'

    def side_names(self, kinds) -> list[str]:
        """Exact names of the side outputs of ``kinds`` (patches and boxes: their folder / prefix)."""
        names = {'npz': self.npz, 'json': self.json, 'faithfulness': self.faithfulness, 'debug': self.debug, 'patches': self.patch_dir + os.sep,
                 'box': self.stem + '_box'}
        return [names[k] for k in kinds]


class _Claims:
    """Names taken so far: exact names and prefixes (a folder, or the per-box pattern)."""

    def __init__(self):
        self.exact: set[str] = set()
        self.prefixes: list[str] = []

    def free(self, exact=(), prefixes=()) -> bool:
        exact = [n.lower() for n in exact]
        prefixes = [p.lower() for p in prefixes]
        if len(set(exact)) < len(exact):
            return False
        for n in exact:
            if n in self.exact or any(n.startswith(q) for q in self.prefixes):
                return False
        for p in prefixes:
            if any(n.startswith(p) for n in self.exact) or any(q.startswith(p) or p.startswith(q)
                                                               for q in self.prefixes):
                return False
        return True

    def take(self, exact=(), prefixes=()):
        self.exact.update(n.lower() for n in exact)
        self.prefixes.extend(p.lower() for p in prefixes)


def _candidates(stem: str, source_ext: str, shared: bool):
    """Stems to try: the plain one (unless another input has it), with the source extension, then counted."""
    tagged = f'{stem}_{source_ext.lstrip(".").lower()}' if source_ext else stem
    if not shared:
        yield stem
    yield tagged
    n = 1
    while True:
        yield f'{tagged}_{n}'
        n += 1


def _picture_ext(rel: str) -> str:
    ext = os.path.splitext(rel)[1]
    return ext if ext.lower() in KEEP_SUFFIXES else '.png'


def plan_outputs(rels: list[str], out_dir: str, side: tuple[str, ...] = (), out_file: str | None = None
                 ) -> list[OutputNames]:
    """Output names for inputs whose paths relative to the output folder are ``rels`` (unique)."""
    unknown = set(side) - set(SIDE_KINDS)
    if unknown:
        raise ValueError(f'unknown side outputs {unknown}')
    side_exact = tuple(k for k in side if k in EXACT_KINDS)
    side_prefix = tuple(k for k in side if k in ('patches', 'box'))
    if out_file is not None:
        stem, ext = os.path.splitext(out_file)
        return [OutputNames(out_file, stem, ext)]
    claims = _Claims()
    pictures = []  # first every picture, with its natural name where it is free
    for rel in rels:
        stem, src_ext = os.path.splitext(rel)
        ext = _picture_ext(rel)
        for s in _candidates(stem, src_ext, shared=False):
            path = os.path.join(out_dir, s + ext)
            if claims.free([path]):
                claims.take([path])
                pictures.append((path, ext))
                break
    stems = [os.path.splitext(rel)[0].lower() for rel in rels]
    plans = []
    for rel, (picture, ext) in zip(rels, pictures):
        stem, src_ext = os.path.splitext(rel)
        shared = stems.count(stem.lower()) > 1
        for s in _candidates(stem, src_ext, shared):
            names = OutputNames(picture, os.path.join(out_dir, s), ext)
            exact = [names.side_names([k])[0] for k in side_exact]
            prefixes = [names.side_names([k])[0] for k in side_prefix]
            if claims.free(exact, prefixes):
                claims.take(exact, prefixes)
                plans.append(names)
                break
    return plans


def check_not_inputs(plans: list[OutputNames], side: tuple[str, ...], input_paths: list[str]):
    """Refuse a run that would write over one of its input files."""
    inputs = {os.path.realpath(p) for p in input_paths}
    exact = tuple(k for k in side if k in EXACT_KINDS)
    for plan in plans:
        for out in [plan.picture, *plan.side_names(exact)]:
            if os.path.realpath(out) in inputs:
                raise UserError(f'{out}: writing there would overwrite an input image; choose another output folder or name')
