"""What every CAM method here shares, whatever the model: one call for the maps of several targets on one
picture, hooks that keep a target layer's output as it was, and the clean-up of ablation weights and maps.

Methods whose map does not depend on the target (EigenCAM) or that score every target from one pass (the
ablation CAMs) say ``shares_input``: the network runs on the picture once, not once per target.
"""
from __future__ import annotations

import numpy as np
import torch


def maps_of_targets(cam, image: torch.Tensor, targets: list, aug_smooth: bool = False,
                    eigen_smooth: bool = False) -> np.ndarray:
    """(K, h, w) maps of K targets on one picture (1, ...). A CAM that says ``shares_input`` runs on the
    picture once and scores every target from that pass (EigenCAM's one map serves them all); the others
    get one copy of the picture per target, as pytorch-grad-cam pairs input rows with targets."""
    if getattr(cam, 'shares_input', False):
        maps = cam(image, targets=targets, aug_smooth=aug_smooth, eigen_smooth=eigen_smooth)
        return np.broadcast_to(maps, (len(targets), *maps.shape[1:])) if len(maps) == 1 else maps
    batch = image.expand(len(targets), *image.shape[1:])
    return cam(batch, targets=targets, aug_smooth=aug_smooth, eigen_smooth=eigen_smooth)


def keep_outputs_intact(layers):
    """Forward hooks that hand the rest of the network a copy of each layer's output. pytorch-grad-cam keeps
    the output tensor itself; when the next operation is in place (a residual ``out += identity``, an
    ``inplace`` ReLU/SiLU after a norm layer: MMPretrain's BasicBlock after ``bn2``, the default target of
    MMClassification's vis_cam) the kept "activations" silently become the values after it.

    The copy must be made after every CAM's hooks on the layer have seen the original: a hook registered
    after it would keep the copy that goes on, and see it change. A model serves several CAMs (a method
    grid, an evaluation of every method), each registering its hooks when it is built, so the copying hook
    is moved to the end again each time a CAM is built (call this after building it)."""
    for layer in layers:
        handle = getattr(layer, '_output_copy_hook', None)
        if handle is not None:
            handle.remove()
        layer._output_copy_hook = layer.register_forward_hook(_copy_of_output)


def release_outputs_intact(layers):
    """Remove what ``keep_outputs_intact`` put on the layers (a model that goes on training keeps no hook)."""
    for layer in layers:
        handle = layer.__dict__.pop('_output_copy_hook', None)
        if handle is not None:
            handle.remove()


def release(cam, layers):
    """Every hook a CAM put on the model: pytorch-grad-cam's (activations and gradients) and the output copies
    (``keep_outputs_intact``). A CAM built on a model that is still used for something else (training) must be
    released, or its hooks go on keeping every forward pass's activations."""
    hooks = getattr(cam, 'activations_and_grads', None)
    if hooks is not None:
        hooks.release()
    release_outputs_intact(layers)


def _copy_of_output(module, inputs, output):
    return output.clone() if isinstance(output, torch.Tensor) else None


def without_float_noise(weights: np.ndarray, noise: float = 1e-5) -> np.ndarray:
    """Ablation weights (relative score drops) below ``noise`` set to zero. A layer the box does not depend
    on gets weights of float noise from a batched rerun (about 1e-7, more on a GPU whose kernels change with
    the batch size); pytorch-grad-cam's per-layer min-max scaling would turn them into a full-range map."""
    weights[np.abs(weights) < noise] = 0
    return weights


def scale_maps(maps: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's ``scale_cam_image`` without the resize, on (K, h, w) maps at once: each map
    min-max scaled to [0, 1] (1e-7 guards a flat map)."""
    maps = np.asarray(maps, np.float32)
    maps = maps - maps.min(axis=(1, 2), keepdims=True)
    maps /= 1e-7 + maps.max(axis=(1, 2), keepdims=True)
    return maps
