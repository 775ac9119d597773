"""The one sequence that turns a config and a checkpoint into a model ready to run, for detectors and
classifiers alike: config (file or packaged, --cfg-options), registry scope, no pretrained-weight download,
the checkpoint read safely before the (slower) build, the build, SyncBN reverted, the weights loaded,
the model on its device in eval mode. The runners add what is theirs through small callables."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import torch.nn as nn

from ..core.errors import UserError, first_line
from .checkpoint import fetch, load_checkpoint_file, load_into
from .config import load_config, resolve_device


@dataclass
class BuiltModel:
    cfg: object  # mmengine Config, as adapted
    scope: str  # the registry scope the model and its pipeline are built in
    model: nn.Module  # on ``device``, in eval mode
    device: str
    meta: dict = field(default_factory=dict)  # the checkpoint's meta ({} without a checkpoint)


def in_scope(scope: str):
    """A block in which registry lookups use ``scope`` (transforms and models of that package)."""
    from mmengine.registry import DefaultScope
    return DefaultScope.overwrite_default_scope(scope) if scope else contextlib.nullcontext()


def build_model(config: str, checkpoint: str | None, device: str | None, cfg_options: dict | None,
                trust_checkpoint: bool, *, registry, default_scope: str, what: str, hint: str,
                adapt_cfg: Callable | None = None, check: Callable | None = None,
                weights_of: Callable | None = None, finish: Callable | None = None) -> BuiltModel:
    """Build ``cfg.model`` from ``registry`` and load ``checkpoint`` into it.

    ``what`` / ``hint`` word the error of a config that does not build (``cannot build the {what} (...){hint}``);
    ``adapt_cfg(cfg)`` changes the config before the build (a TTA wrapper, a data preprocessor);
    ``check(model)`` refuses a model of the wrong kind (raises a UserError) before any weight is loaded;
    ``weights_of(model)`` is the module the checkpoint's tensors go into (the model itself by default);
    ``finish(model, cfg, meta)`` runs after the weights are in, before the move to the device."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope

    from ..core import quiet
    quiet.silence_library_noise()
    device = resolve_device(device)
    cfg = load_config(config, cfg_options)
    if not isinstance(cfg.get('model'), dict):
        raise UserError(f'{config}: the config defines no model; give the config of a {what}')
    scope = cfg.get('default_scope', default_scope)
    with quiet.scope_switch_unsaid():
        init_default_scope(scope)
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, dict):
        backbone.pop('init_cfg', None)  # never fetch pretrained weights
    if adapt_cfg is not None:
        adapt_cfg(cfg)
    ckpt = None
    if checkpoint is not None:  # read the file before the (slower) build, so a bad one fails fast
        ckpt = load_checkpoint_file(fetch(checkpoint), trust_checkpoint)
    try:
        with in_scope(scope):
            model = registry.build(cfg.model)
    except Exception as e:
        raise UserError(f'{config}: cannot build the {what} ({first_line(e)}){hint}') from None
    if check is not None:
        check(model)
    model = revert_sync_batchnorm(model)
    meta = {}
    if ckpt is not None:
        load_into(weights_of(model) if weights_of else model, ckpt, checkpoint)
        meta = ckpt.get('meta', {}) or {}
    if finish is not None:
        finish(model, cfg, meta)
    return BuiltModel(cfg, scope, model.to(device).eval(), device, meta)
