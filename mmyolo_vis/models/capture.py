"""Forward hooks that capture what named layers output. Hooks are always removed."""
from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager

import torch
import torch.nn as nn

from .layers import resolve_layer


def flatten_output(output) -> list[torch.Tensor]:
    """The tensors a module returned, in order: nested tuples, lists and dicts are flattened."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (tuple, list)):
        return [t for item in output for t in flatten_output(item)]
    return []


class FeatureCapture:
    """Captures the outputs of named layers during forward passes.

    After a forward, ``maps`` holds ``name -> tensor`` (batch first); a layer that returns several
    tensors gives ``name[0]``, ``name[1]``, ... in order. ``detach=False`` keeps the graph (for CAMs).
    """

    def __init__(self, model: nn.Module, layer_names: list[str], detach: bool = True):
        self.layers = [(name, resolve_layer(model, name)[0]) for name in layer_names]
        self.detach = detach
        self.maps: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._handles = []

    def _hook(self, name):
        def hook(module, inputs, output):
            # a copy: an in-place operation after the layer (a residual add, an inplace activation after a
            # norm layer) would otherwise change the captured map into what follows the layer
            tensors = [t.detach().clone() if self.detach else t.clone() for t in flatten_output(output)]
            if len(tensors) == 1:
                self.maps[name] = tensors[0]
            else:
                for i, t in enumerate(tensors):
                    self.maps[f'{name}[{i}]'] = t
        return hook

    def __enter__(self):
        self.maps.clear()
        for name, module in self.layers:
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles.clear()


@contextmanager
def capture(model: nn.Module, layer_names: list[str], detach: bool = True):
    cap = FeatureCapture(model, layer_names, detach)
    with cap:
        yield cap


@contextmanager
def without_forward_hooks(model: nn.Module):
    """The bare network for a while: every module's forward hooks set aside and put back after. The hooks of
    the CAMs built on a model (pytorch-grad-cam keeps every activation its hooks see until its next call)
    would otherwise keep the activations of every perturbed picture a measure runs through the model."""
    saved = []
    for module in model.modules():
        if module._forward_hooks:
            saved.append((module, module._forward_hooks))
            module._forward_hooks = OrderedDict()
    try:
        yield model
    finally:
        for module, hooks in saved:
            module._forward_hooks = hooks
