"""Layer names: dotted paths with index syntax, resolved without ``eval``.

``backbone``, ``backbone.stage4``, ``neck.out_layers[2]``, ``backbone.stage4[-1]`` and
``backbone.stage4.2`` all name modules. An unknown name gets the closest existing names.
"""
from __future__ import annotations

import difflib
import re

import torch.nn as nn

from ..core.errors import UserError

_SEGMENT = re.compile(r'([A-Za-z_][A-Za-z0-9_]*|\d+)((?:\[-?\d+\])*)$')


def parse_layer_name(name: str) -> list[str | int]:
    """'neck.out_layers[2]' -> ['neck', 'out_layers', 2]. Names are strings, indices ints."""
    if not name or name.strip() != name:
        raise UserError(f'bad layer name {name!r}: use a dotted path such as backbone.stage4 or neck.out_layers[2]')
    steps: list[str | int] = []
    for part in name.split('.'):
        m = _SEGMENT.match(part)
        if not m:
            raise UserError(f'bad layer name {name!r}: use a dotted path such as backbone.stage4 '
                            'or neck.out_layers[2]')
        steps.append(m.group(1))
        steps.extend(int(i) for i in re.findall(r'\[(-?\d+)\]', m.group(2)))
    return steps


def _suggest(model: nn.Module, name: str, n: int = 5) -> str:
    names = [k for k, _ in model.named_modules() if k]
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.5)
    if not close:  # fall back to the names under the longest prefix that exists
        prefix = name.rsplit('.', 1)[0] if '.' in name else ''
        close = [k for k in names if k.startswith(prefix)][:n] if prefix else [k for k in names if '.' not in k]
    return ', '.join(close)


def resolve_layer(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The module ``name`` points to, and its canonical dotted name (as in ``named_modules``)."""
    module, path = model, []
    for step in parse_layer_name(name):
        if isinstance(step, int) and isinstance(module, (nn.Sequential, nn.ModuleList)):
            n = len(module)
            if not -n <= step < n:
                raise UserError(f'layer {name!r}: index {step} is out of range, '
                                f'{".".join(path) or "model"} has {n} children')
            key = str(step % n)
        else:
            key = str(step)
        child = module._modules.get(key)
        if child is None:
            raise UserError(f'unknown layer {name!r}; closest names: {_suggest(model, name)} '
                            '(see --preview-model for all names)')
        module, path = child, path + [key]
    return module, '.'.join(path)
