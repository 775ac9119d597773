"""What the three map hooks share: when to draw (after a validation, or every N training iterations), on which
pictures (given paths, or the first N of the validation set, read once), on rank 0 only, with the training left
as it was (``guard``), and where the pictures go: ``runner.visualizer.add_image(name, picture, step)`` only, so
they reach whatever vis backends the config names (local files, TensorBoard, WandB, ...).

A subclass says how to build its drawer from the training model (``build``) and how one picture is drawn
(``draw``), with the demos' own classes, so the pictures are the demos' pictures."""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmengine.hooks import Hook

from ..core.errors import UserError, first_line
from ..core.images import DEFAULT_MAX_PIXELS, read_image
from .guard import training_untouched, unwrap

EVENTS = ('val', 'train_iter')
# Defaults that keep the cost of drawing small beside the training's (BENCHMARKS.md): once per validation,
# or every 500 training iterations.
DEFAULT_INTERVAL = {'val': 1, 'train_iter': 500}


class MapVisHook(Hook):
    """Base of the map hooks.

    Args:
        images: picture paths; default: the first ``num_images`` pictures of the validation set.
        num_images: how many validation pictures to draw when ``images`` is not given (default 4).
        event: ``'val'`` draws after a validation (every ``interval``-th epoch, or iteration for an
            iteration-based loop); ``'train_iter'`` every ``interval`` training iterations.
        interval: see ``event`` (default 1 for ``'val'``, 500 for ``'train_iter'``).
        tag: the start of every picture's name (``<tag>_<picture stem>``); default the hook's own.
        max_pixels: refuse a larger picture before it is decoded.

    Priority ``ABOVE_NORMAL`` (40): after a validation it runs before ``EMAHook`` (49) swaps the EMA weights
    back out, so the maps are of the model the validation measured.
    """

    priority = 'ABOVE_NORMAL'
    default_tag = 'map'

    def __init__(self, images=None, num_images: int = 4, event: str = 'val', interval: int | None = None,
                 tag: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS):
        if event not in EVENTS:
            raise UserError(f'{type(self).__name__}: event={event!r}: use {" or ".join(map(repr, EVENTS))}')
        interval = DEFAULT_INTERVAL[event] if interval is None else interval
        if not isinstance(interval, int) or interval < 1:
            raise UserError(f'{type(self).__name__}: interval={interval!r}: give a positive whole number')
        if images is None and (not isinstance(num_images, int) or num_images < 1):
            raise UserError(f'{type(self).__name__}: num_images={num_images!r}: give a positive whole number')
        if isinstance(images, str):
            images = [images]
        self.image_paths = None if images is None else [str(p) for p in images]
        self.num_images, self.event, self.interval = num_images, event, interval
        self.tag = tag or self.default_tag
        self.max_pixels = max_pixels
        self._pictures: list[tuple[str, np.ndarray]] | None = None
        self._drawer = None
        self.failures = 0  # pictures that could not be drawn

    # ---------------------------------------------------------------- what a subclass gives
    def build(self, model, runner):
        """The drawer over the (unwrapped) training model: built once, on rank 0."""
        raise NotImplementedError

    def draw(self, drawer, image_bgr: np.ndarray) -> np.ndarray:
        """One picture (RGB uint8), exactly as the demo draws it."""
        raise NotImplementedError

    # ---------------------------------------------------------------- events
    def before_train(self, runner):
        """Options and pictures are checked before the first iteration: a bad layer name or path fails now,
        not hours later."""
        if self._is_main():
            with training_untouched(unwrap(runner.model)):  # building a CAM puts the model in eval mode
                self._prepare(runner)

    def after_val_epoch(self, runner, metrics=None):
        if self.event != 'val':
            return
        step = runner.epoch or runner.iter  # an iteration-based loop keeps epoch 0
        if step % self.interval == 0:
            self.draw_all(runner, step)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.event == 'train_iter' and self.every_n_train_iters(runner, self.interval):
            self.draw_all(runner, runner.iter + 1)

    # ---------------------------------------------------------------- drawing
    @staticmethod
    def _is_main() -> bool:
        from mmengine.dist import is_main_process
        return is_main_process()

    def _prepare(self, runner):
        if self._pictures is None:
            self._pictures = self._read_pictures(runner)
        if self._drawer is None:
            self._drawer = self.build(unwrap(runner.model), runner)

    def draw_all(self, runner, step: int):
        """Every picture at ``step``, on rank 0 (the others return at once: no collective is involved)."""
        if not self._is_main():
            return
        with training_untouched(unwrap(runner.model)):
            self._prepare(runner)
            for name, image in self._pictures:
                try:
                    picture = self.draw(self._drawer, image)
                except Exception as e:  # a picture never ends a training run
                    self.failures += 1
                    runner.logger.warning(f'{type(self).__name__}: no picture {name} at step {step} '
                                          f'({first_line(e)}); training goes on')
                    continue
                runner.visualizer.add_image(name, picture, step)

    def _read_pictures(self, runner) -> list[tuple[str, np.ndarray]]:
        paths = self.image_paths if self.image_paths is not None else self._val_paths(runner)
        pictures, seen = [], set()
        for path in paths:
            stem = osp.splitext(osp.basename(path))[0]
            name, k = f'{self.tag}_{stem}', 1
            while name in seen:  # two pictures of one stem from different folders
                k += 1
                name = f'{self.tag}_{stem}_{k}'
            seen.add(name)
            pictures.append((name, read_image(path, self.max_pixels)))
        if not pictures:
            raise UserError(f'{type(self).__name__}: no picture to draw: give images=[...]')
        return pictures

    def _val_paths(self, runner) -> list[str]:
        try:
            dataset = runner.val_dataloader.dataset
        except Exception:  # no validation configured
            dataset = None
        if dataset is None:
            raise UserError(f'{type(self).__name__}: the config has no validation set to take pictures from: '
                            'give images=[...]')
        paths = []
        for i in range(min(self.num_images, len(dataset))):
            info = dataset.get_data_info(i)
            path = info.get('img_path') if isinstance(info, dict) else None
            if path is None:
                raise UserError(f'{type(self).__name__}: the validation set names no image file (img_path): '
                                'give images=[...]')
            paths.append(path)
        return paths


def dataset_meta_of(runner, model) -> dict:
    """The dataset meta (classes, palette) the training runs on: the visualizer's (set by MMEngine's loops
    from the dataset), else the validation or training set's."""
    meta = getattr(runner.visualizer, 'dataset_meta', None)
    if meta:
        return dict(meta)
    for key in ('val_dataloader', 'train_dataloader'):
        try:
            meta = getattr(getattr(runner, key), 'dataset').metainfo
        except Exception:
            continue
        if meta:
            return dict(meta)
    return dict(getattr(model, 'dataset_meta', None) or {})

