"""AblationCAM with zero as the ablated value, and reruns from the target layer on where the network allows.

- ``ZeroAblationLayer``: pytorch-grad-cam's AblationLayer replaces an ablated channel by (minimum - 1e7)
  whenever the layer has a negative value, which any SiLU network has; that measures a huge negative input,
  not the channel's absence. This one sets the channel to zero (the AblationCAM paper's ablation) and picks
  channels by ``channels_to_ablate``; ``ZeroAblationLayerVit`` does the same on token outputs.
- ``WholeNetworkAblationCAM``: pytorch-grad-cam's AblationCAM with that layer, run from the target layer on
  where it can, and with weights of float noise dropped (``base.without_float_noise``).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from pytorch_grad_cam import AblationCAM
from pytorch_grad_cam.ablation_layer import AblationLayer

from .base import without_float_noise


def channels_to_ablate(activations: np.ndarray, ratio: float) -> np.ndarray:
    """The ``ratio`` share of channels with the largest mean activation (all with ratio 1)."""
    c = activations.shape[0]
    k = max(1, math.ceil(ratio * c))
    return np.sort(np.argsort(-activations.reshape(c, -1).mean(1))[:k])


class ZeroAblationLayer(AblationLayer):
    """pytorch-grad-cam's ablation layer with zero as the ablated value (see the module note)."""

    channel_axis = 1  # of the layer's output

    def activations_to_be_ablated(self, activations, ratio_channels_to_ablate=1.0):
        self.indices = channels_to_ablate(activations, ratio_channels_to_ablate)
        return self.indices

    def __call__(self, x):
        out = self.activations
        out[torch.arange(len(out)), torch.as_tensor(self.indices[:len(out)], dtype=torch.long)] = 0
        return out


class ZeroAblationLayerVit(ZeroAblationLayer):
    """``ZeroAblationLayer`` for token outputs (B, N, C): a channel is the last axis (as pytorch-grad-cam's
    AblationLayerVit, with zero as the ablated value)."""

    channel_axis = -1

    def set_next_batch(self, input_batch_index, activations, num_channels_to_ablate):
        self.activations = activations[input_batch_index].clone().unsqueeze(0).repeat(num_channels_to_ablate, 1, 1)

    def __call__(self, x):
        out = self.activations
        out[torch.arange(len(out)), :, torch.as_tensor(self.indices[:len(out)], dtype=torch.long)] = 0
        return out


class WholeNetworkAblationCAM(AblationCAM):
    """pytorch-grad-cam's AblationCAM with zero ablation and float noise dropped, for target layers other than
    the neck outputs, made cheaper where the network allows it.

    pytorch-grad-cam reruns the whole network on a batch of copies of the input for every batch of ablated
    channels, and all of it again for every target (class, box) of the same image. Here the network runs
    once on the image (``shares_input``) and the target layer's output becomes the batch of ablated copies
    (a forward hook): only what follows the layer runs on the batch, and one sweep scores every target. The
    layers after it must take a batch where the earlier ones gave one picture (broadcasting: a residual add
    does, a concatenation with an earlier feature does not). That is checked once per target layer: the
    unablated copies must give the network's own scores, row by row; where they do not, or the rerun
    raises, the layer falls back to pytorch-grad-cam's whole-network reruns (without its progress bar)."""

    shares_input = True

    def __init__(self, model, target_layers, batch_size: int = 32, ratio_channels_to_ablate: float = 1.0,
                 reshape_transform=None, ablation_layer=None):
        super().__init__(model, target_layers, reshape_transform=reshape_transform,
                         ablation_layer=ablation_layer or ZeroAblationLayer(),
                         batch_size=batch_size, ratio_channels_to_ablate=ratio_channels_to_ablate)
        self._expands_after = {}  # id(target layer) -> bool: the layers after it take a batch of copies

    def save_activation(self, module, input, output):
        """pytorch-grad-cam keeps the output tensor itself, which an in-place operation after the layer may
        change before the ablation batches are built from it (see ``keep_outputs_intact``)."""
        self.activations = output.clone()

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        """(targets, channels) weights; ``input_tensor`` and ``activations`` are of the one picture."""
        weights = None
        if self.ratio_channels_to_ablate >= 1.0 and self._expands_after.get(id(target_layer), True):
            weights = self._weights_from_layer_on(input_tensor, target_layer, targets)
        if weights is None:
            weights = self._weights_from_whole_network(input_tensor, target_layer, targets, activations, grads)
        return without_float_noise(weights)

    def _weights_from_whole_network(self, image, target_layer, targets, activations, grads, chunk: int = 8):
        """pytorch-grad-cam's reruns, which pair input rows with targets: the picture repeated for a few
        targets at a time (its first pass runs them all at once, so a few bound the memory)."""
        weights = []
        with _quiet_tqdm():
            for s in range(0, len(targets), chunk):
                part = targets[s:s + chunk]
                weights.append(super().get_cam_weights(image.expand(len(part), *image.shape[1:]), target_layer,
                                                       part, np.repeat(activations, len(part), axis=0), grads))
        return np.concatenate(weights)

    def _run_from_layer(self, image, target_layer, raw, channel_axis, channels):
        """Scores rows of the network on ``image`` (1, ...) whose target-layer output is ``raw`` repeated,
        one row per entry of ``channels`` with that channel zeroed (-1: none)."""
        def ablated(module, inputs, output):
            out = raw.expand(len(channels), *raw.shape[1:]).clone()
            rows = [r for r, c in enumerate(channels) if c >= 0]
            if rows:
                index = [slice(None)] * out.dim()
                index[0] = torch.as_tensor(rows)
                index[channel_axis] = torch.as_tensor([channels[r] for r in rows])
                out[tuple(index)] = 0
            return out
        handle = target_layer.register_forward_hook(ablated)
        try:
            return self.model(image)
        finally:
            handle.remove()

    def _weights_from_layer_on(self, image, target_layer, targets):
        channel_axis = getattr(self.ablation_layer, 'channel_axis', 1)
        kept = {}
        handle = target_layer.register_forward_hook(lambda m, i, o: kept.__setitem__('raw', o.clone()))
        with torch.no_grad():
            try:
                outputs = self.model(image)
            finally:
                handle.remove()
            raw = kept['raw']
            original = np.float32([float(t(outputs[0])) for t in targets])
            try:
                if id(target_layer) not in self._expands_after:
                    copies = self._run_from_layer(image, target_layer, raw, channel_axis, [-1, -1])
                    ok = len(copies) == 2 and all(abs(float(t(o)) - s) <= 1e-4 * (1 + abs(s))
                                                  for o in copies for t, s in zip(targets, original))
                    self._expands_after[id(target_layer)] = ok
                    if not ok:
                        return None
                n = raw.shape[channel_axis]
                scores = np.zeros((len(targets), n), np.float32)
                for i in range(0, n, self.batch_size):
                    channels = list(range(i, min(n, i + self.batch_size)))
                    outs = self._run_from_layer(image, target_layer, raw, channel_axis, channels)
                    scores[:, i:i + len(channels)] = [[float(t(o)) for o in outs] for t in targets]
            except Exception:  # any failure: pytorch-grad-cam's reruns (which raise a real error again)
                self._expands_after[id(target_layer)] = False
                return None
        return (original[:, None] - scores) / original[:, None]


class _quiet_tqdm:
    """pytorch-grad-cam's AblationCAM shows a progress bar for every target of every picture; the tools show
    their own progress, so within this block its bars are not drawn."""

    def __enter__(self):
        import pytorch_grad_cam.ablation_cam as module
        self.module, self.saved = module, module.tqdm
        module.tqdm = type('QuietTqdm', (), {'tqdm': staticmethod(lambda iterable, *a, **k: iterable)})
        return self

    def __exit__(self, *exc):
        self.module.tqdm = self.saved
        return False
