"""Drawing from inside a training run without changing it: the model in eval mode while it draws (each module's
own mode restored after), no gradient left for the optimizer (every parameter's ``.grad`` is set aside and put
back: a gradient CAM's backward pass writes into fresh tensors that are then dropped), and the random number
generators (Python, NumPy, torch CPU and CUDA) as they were. Parameters are only read."""
from __future__ import annotations

import contextlib
import random

import numpy as np
import torch
import torch.nn as nn


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside MMEngine's wrappers (DDP, FSDP, ...): drawing goes through the module itself, so no
    wrapper's forward or gradient hooks (a collective the other ranks would not join) take part."""
    from mmengine.model import is_model_wrapper
    while is_model_wrapper(model):
        model = model.module
    return model


@contextlib.contextmanager
def random_state_kept():
    py, np_state, cpu = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


@contextlib.contextmanager
def training_untouched(model: nn.Module):
    """A block that may run the model forward and backward in eval mode; afterwards the modules' modes, the
    parameters' gradients and the random state are those before it. Gradients are enabled inside (a hook
    called from a ``no_grad`` block can still draw a gradient CAM)."""
    modes = [(m, m.training) for m in model.modules()]
    params = list(model.parameters())
    grads = [p.grad for p in params]
    for p in params:  # a backward pass inside allocates new .grad tensors: the set-aside ones stay as they are
        p.grad = None
    with random_state_kept():
        try:
            model.eval()
            with torch.enable_grad():
                yield model
        finally:
            for p, g in zip(params, grads):
                p.grad = g
            for m, mode in modes:
                m.training = mode
