"""``--preview-model``: every module's name and output shape for one forward pass."""
from __future__ import annotations

import numpy as np
import torch

from .capture import flatten_output


def _shapes(output) -> str:
    tensors = flatten_output(output)
    if not tensors:
        return '-'
    shapes = [tuple(t.shape) for t in tensors]
    return str(shapes[0]) if len(shapes) == 1 else '[' + ', '.join(str(s) for s in shapes) + ']'


def module_output_shapes(runner, image: np.ndarray, forward=None) -> list[tuple[str, str, str]]:
    """(name, class name, output shape) for every named module, in definition order. ``forward(image)`` runs
    the model (default: a detector runner's preprocessing and tensor-mode forward)."""
    model = runner.model
    seen: dict[str, str] = {}
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(mod, inp, out, name=name):
            seen.setdefault(name, _shapes(out))
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            if forward is not None:
                forward(image)
            else:
                data = runner.preprocess(runner.prepare([image]))
                model(**data, mode='tensor')
    finally:
        for h in handles:
            h.remove()
    return [(name, type(m).__name__, seen.get(name, 'not run'))
            for name, m in model.named_modules() if name]


def format_tree(rows: list[tuple[str, str, str]]) -> str:
    width = max(len('  ' * n.count('.') + n.rsplit('.', 1)[-1]) for n, _, _ in rows) + 2
    lines = [f'{"module":{width}}{"type":24}output shape  (use the dotted name with --target-layers)']
    for name, cls, shape in rows:
        label = '  ' * name.count('.') + name.rsplit('.', 1)[-1]
        lines.append(f'{label:{width}}{cls:24}{shape}    {name}')
    return '\n'.join(lines)
