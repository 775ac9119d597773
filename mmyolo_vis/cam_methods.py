"""CAM methods for detectors: pytorch-grad-cam's classes, plus what it lacks in the form needed here.

- ``FastAblationCAM``: pytorch-grad-cam's AblationCAM reruns the whole network for every ablated channel,
  and for every box. When the target layer is a neck output, only the head depends on it, and only the
  head branch of that level: the neck outputs are computed once (cached by ``DetectorScores``) and that
  level's head alone reruns, for a batch of ablated channels at a time, giving the changed score of every
  box of the image at once. Like pytorch-grad-cam's methods it is a BaseCAM subclass that overrides
  ``get_cam_weights``.
- ``OrientedEigenCAM`` / ``OrientedEigenGradCAM``: pytorch-grad-cam's EigenCAM and EigenGradCAM keep the
  principal component with whatever sign the SVD returns, so a map can come out inverted (the ReLU then
  keeps the background); these fix the sign (see ``orient_like``), and project through the C x C Gram
  matrix (``principal_projection``) instead of pytorch-grad-cam's full SVD.
- Methods whose map does not depend on the box (EigenCAM) or that score every box from one pass
  (``FastAblationCAM``) say ``shares_input``: the network runs on the image once, not once per box.
- ``ZeroAblationLayer``: pytorch-grad-cam's AblationLayer replaces an ablated channel by (minimum - 1e7)
  whenever the layer has a negative value, which any SiLU network has; that measures a huge negative input,
  not the channel's absence. This one sets the channel to zero (the AblationCAM paper's ablation) and picks
  channels as ``FastAblationCAM`` does; with it ``WholeNetworkAblationCAM`` (pytorch-grad-cam's AblationCAM,
  for other target layers) computes the map of the fast path. Both drop weights of float noise
  (``without_float_noise``).
- ``DRISE`` (Petsiuk et al., CVPR 2021): random masks, batched forward passes, no gradients; a mask's
  weight for a box is max over predictions of IoU x the prediction's score for the box's class.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from pytorch_grad_cam import (AblationCAM, EigenCAM, EigenGradCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM,
                              XGradCAM)
from pytorch_grad_cam.ablation_layer import AblationLayer
from pytorch_grad_cam.base_cam import BaseCAM

from .detector_cam import DetectorScores, box_iou
from .errors import UserError


def channels_to_ablate(activations: np.ndarray, ratio: float) -> np.ndarray:
    """The ``ratio`` share of channels with the largest mean activation (all with ratio 1)."""
    c = activations.shape[0]
    k = max(1, math.ceil(ratio * c))
    return np.sort(np.argsort(-activations.reshape(c, -1).mean(1))[:k])


def orient_like(projections: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Flip each (H, W) map of ``projections`` (B, H, W) that is anti-correlated with ``reference``."""
    out = projections.copy()
    for b in range(len(out)):
        p, r = out[b].ravel(), reference[b].ravel()
        if float(np.dot(p - p.mean(), r - r.mean())) < 0:
            out[b] = -out[b]
    return out


def oriented_component(weighted: np.ndarray) -> np.ndarray:
    """(B, C, H, W) -> (B, H, W): the first principal component of the channels, pointing where their sum
    is high (see ``principal_projection`` and ``orient_like``)."""
    return orient_like(principal_projection(weighted), weighted.sum(1))


def principal_projection(batch: np.ndarray) -> np.ndarray:
    """(B, C, H, W) -> (B, H, W): each cell's projection on the first principal component of its channels.

    pytorch-grad-cam's ``get_2d_projection`` computes the same with ``np.linalg.svd(full_matrices=True)`` on
    the (H*W, C) centred matrix, which also builds an (H*W)^2 U that is never used (6400x6400 at an 80x80
    level, seconds per box). The first right singular vector is the top eigenvector of the C x C Gram matrix:
    its eigen-decomposition (in float64) costs milliseconds (an economy SVD still costs 30-50 ms here).
    The sign of the component is arbitrary either way: ``orient_like`` fixes it."""
    batch = np.nan_to_num(np.asarray(batch, np.float32))
    b, c = batch.shape[:2]
    out = np.empty((b, *batch.shape[2:]), np.float32)
    for i in range(b):
        cells = batch[i].reshape(c, -1).T
        cells = cells - cells.mean(axis=0)
        gram = cells.T.astype(np.float64) @ cells.astype(np.float64)
        _, vectors = np.linalg.eigh(gram)  # ascending eigenvalues: the last vector is the first component
        out[i] = (cells @ vectors[:, -1].astype(np.float32)).reshape(batch.shape[2:])
    return out


class OrientedEigenCAM(EigenCAM):
    """EigenCAM whose component points where the layer is active (positive correlation with the
    channel sum of the activations). It has no target: every box of an image gets the same map, so the
    network runs on the image alone (``shares_input``) and the one map is given to each box."""

    shares_input = True

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads, eigen_smooth):
        return oriented_component(activations)


class OrientedEigenGradCAM(EigenGradCAM):
    """EigenGradCAM whose component points where cells raise the target (positive correlation with the
    channel sum of gradient x activation, each cell's first-order contribution)."""

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads, eigen_smooth):
        return oriented_component(grads * activations)


class EigenSmoothed:
    """``--eigen-smooth`` on a gradient method (mixed in before pytorch-grad-cam's class): the map is the
    first principal component of the method's weighted activations. pytorch-grad-cam projects them with
    ``get_2d_projection`` (full SVD: an (H*W)^2 matrix never used, 2.3 s per box at an 80x80 level) and keeps
    the component's arbitrary sign (half the maps can come out inverted). Here: ``principal_projection``,
    oriented like the method's own map (``orient_like``), as the Eigen methods above."""

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads, eigen_smooth):
        if not eigen_smooth:
            return super().get_cam_image(input_tensor, target_layer, targets, activations, grads, False)
        return oriented_component(self.weighted_activations(input_tensor, target_layer, targets, activations, grads))

    def weighted_activations(self, input_tensor, target_layer, targets, activations, grads):
        """What the method sums over channels for its map: one weight per channel times the activations."""
        weights = self.get_cam_weights(input_tensor, target_layer, targets, activations, grads)
        return weights.reshape(*weights.shape, *[1] * (activations.ndim - 2)) * activations


class SmoothableGradCAM(EigenSmoothed, GradCAM):
    pass


class SmoothableGradCAMPlusPlus(EigenSmoothed, GradCAMPlusPlus):
    pass


class SmoothableXGradCAM(EigenSmoothed, XGradCAM):
    pass


class SmoothableHiResCAM(EigenSmoothed, HiResCAM):
    def weighted_activations(self, input_tensor, target_layer, targets, activations, grads):
        return grads * activations


class SmoothableLayerCAM(EigenSmoothed, LayerCAM):
    def weighted_activations(self, input_tensor, target_layer, targets, activations, grads):
        return np.maximum(grads, 0) * activations


GRADIENT_METHODS = {
    'gradcam': SmoothableGradCAM,
    'gradcam++': SmoothableGradCAMPlusPlus,
    'xgradcam': SmoothableXGradCAM,
    'hirescam': SmoothableHiResCAM,
    'layercam': SmoothableLayerCAM,
    'eigengradcam': OrientedEigenGradCAM,
}
METHODS = (*GRADIENT_METHODS, 'eigencam', 'ablationcam', 'drise')
# One weight per channel from the gradient averaged over the whole map: with a head that scores each prior
# from its own cell, every box of a class and level gets the same weights, so the same (class) map.
GLOBAL_WEIGHT_METHODS = ('gradcam', 'gradcam++', 'xgradcam')


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


class FastAblationCAM(BaseCAM):
    """AblationCAM that reruns only the head, one level, for neck-output target layers, and for every box
    of the image at once (see the module note).

    Ablating a channel of neck output L changes only the scores of level L's priors, and it changes them the
    same way whatever box is explained: one head rerun per batch of ablated channels gives the changed score
    of every box. The network's forward pass therefore runs on the image alone (``shares_input``: a batch of
    one), and the weights (K boxes, C channels) broadcast over its activations (1, C, H, W)."""

    shares_input = True

    def __init__(self, model: DetectorScores, target_layers, batch_size: int = 32,
                 ratio_channels_to_ablate: float = 1.0, level_of_layer: dict | None = None):
        super().__init__(model, target_layers, uses_gradients=False)
        self.batch_size = batch_size
        self.ratio = ratio_channels_to_ablate
        self.level_of_layer = level_of_layer or {}  # id(target layer) -> index of its neck output
        self.bar = None

    def forward(self, input_tensor, targets, eigen_smooth=False):
        try:
            return super().forward(input_tensor, targets, eigen_smooth)
        finally:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    def _advance(self, batches: int = 1):
        """Progress over the channel batches of every target layer; the bar shows after a second."""
        if self.bar is None:
            total = sum(math.ceil(len(channels_to_ablate(a[0].numpy(), self.ratio)) / self.batch_size)
                        for a in self.activations_and_grads.activations)
            from .cli import progress_bar
            self.bar = progress_bar(total, 'ablation', unit='batch', delay=1.0, leave=False)
        self.bar.update(batches)

    def compute_cam_per_layer(self, input_tensor, targets, eigen_smooth):
        """BaseCAM's per-layer maps (ReLU, min-max scaled), left on each layer's grid: ``aggregate_multi_layers``
        resizes them to the input map by map (BaseCAM resizes every box's map of every layer first, a
        (K, layers, H, W) array, which costs more than the ablation once many boxes share it)."""
        activations = [a.cpu().numpy() for a in self.activations_and_grads.activations]
        self.target_size = self.get_target_width_height(input_tensor)
        return [scale_maps(np.maximum(self.get_cam_image(input_tensor, layer, targets, act, None, eigen_smooth), 0))
                for layer, act in zip(self.target_layers, activations)]

    def aggregate_multi_layers(self, cam_per_target_layer):
        """BaseCAM's aggregation of the per-layer maps: each resized to the input, the mean over layers,
        min-max scaled; one box at a time, so that its maps stay in the cache."""
        w, h = self.target_size
        out = np.empty((len(cam_per_target_layer[0]), h, w), np.float32)
        for k, acc in enumerate(out):
            acc[:] = cv2.resize(cam_per_target_layer[0][k], (w, h))
            for cams in cam_per_target_layer[1:]:
                acc += cv2.resize(cams[k], (w, h))
            acc /= len(cam_per_target_layer)
            acc -= acc.min()
            acc /= 1e-7 + acc.max()
        return out

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads, eigen_smooth):
        """Every box's weighted sum of the image's activations as one matrix product (K, C) x (C, H*W)
        instead of BaseCAM's broadcast (K, C, H, W) product."""
        if eigen_smooth:
            return super().get_cam_image(input_tensor, target_layer, targets, activations, grads, eigen_smooth)
        weights = self.get_cam_weights(input_tensor, target_layer, targets, activations, grads)
        act = np.asarray(activations[0], np.float32)
        return (weights @ act.reshape(act.shape[0], -1)).reshape(len(weights), *act.shape[1:])

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        level = self.level_of_layer[id(target_layer)]
        feats = self.model.neck_feats  # this image's neck outputs (batch of one)
        priors = self.model.level_priors(feats)[level]
        chosen = channels_to_ablate(activations[0], self.ratio)
        weights = np.zeros((len(targets), activations.shape[1]), np.float32)
        rows = [k for k, t in enumerate(targets) if t.prior in priors]
        if not rows:  # no box of this level: none depends on this layer
            self._advance(math.ceil(len(chosen) / self.batch_size))
            return weights
        device = feats[level].device
        prior_idx = torch.tensor([targets[k].prior - priors.start for k in rows], device=device)
        label_idx = torch.tensor([targets[k].label for k in rows], device=device)
        # --batch-size bounds memory as that many ablated copies of the whole level; the head often needs
        # only a few cells around each box's prior, so as many more copies fit in the same memory
        h, w = feats[level].shape[2:]
        per_pass = self.batch_size * max(1, (h * w) // self.model.cells_per_copy(level, feats, len(rows)))
        with torch.no_grad():
            original = self.model.level_scores(level, feats, prior_idx, label_idx)[0].cpu().numpy()
            for start in range(0, len(chosen), per_pass):
                chans = chosen[start:start + per_pass]
                scores = self.model.level_scores(level, feats, prior_idx, label_idx,
                                                 torch.as_tensor(chans)).cpu().numpy()
                weights[np.ix_(rows, chans)] = ((original - scores) / (original + 1e-7)).T
                self._advance(math.ceil(len(chans) / self.batch_size))
        return without_float_noise(weights)


class DRISE:
    """Detector RISE: saliency of each target box from randomly masked inputs (no gradients)."""

    def __init__(self, model: DetectorScores, num_masks: int = 1000, grid: int = 16, prob: float = 0.5,
                 batch_size: int = 16, seed: int = 0):
        self.model, self.num_masks, self.grid, self.prob = model, num_masks, grid, prob
        self.batch_size, self.seed = batch_size, seed

    def masks(self, n: int, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
        """RISE masks: a coarse random grid, upsampled bilinearly, randomly shifted by up to one cell."""
        cell_h, cell_w = math.ceil(h / self.grid), math.ceil(w / self.grid)
        grid = (torch.rand(n, 1, self.grid, self.grid, generator=gen) < self.prob).float()
        up = F.interpolate(grid, size=((self.grid + 1) * cell_h, (self.grid + 1) * cell_w), mode='bilinear',
                           align_corners=False)
        dy = torch.randint(0, cell_h, (n,), generator=gen)
        dx = torch.randint(0, cell_w, (n,), generator=gen)
        return torch.stack([up[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])

    @torch.no_grad()
    def __call__(self, input_tensor: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
        """input (1, 3, H, W); boxes (K, 4) in input pixels -> saliency (K, H, W) in [0, 1]."""
        _, _, h, w = input_tensor.shape
        gen = torch.Generator().manual_seed(self.seed)
        sal = torch.zeros(len(boxes), h, w)
        boxes = boxes.to(input_tensor.device)
        labels = labels.long().to(input_tensor.device)
        done = 0
        while done < self.num_masks:
            n = min(self.batch_size, self.num_masks - done)
            masks = self.masks(n, h, w, gen)
            scores, pred_boxes = self.model.decode(input_tensor * masks.to(input_tensor.device))
            ious = box_iou(boxes, pred_boxes)  # (n, K, N)
            cls = scores.gather(2, labels[None, None, :].expand(n, scores.shape[1], len(labels)))  # (n, N, K)
            weight = (ious * cls.permute(0, 2, 1)).amax(dim=2).cpu()  # (n, K)
            sal += torch.einsum('nk,nhw->khw', weight, masks[:, 0])
            done += n
        sal = sal / self.num_masks
        flat = sal.view(len(boxes), -1)
        lo, hi = flat.min(1, keepdim=True)[0], flat.max(1, keepdim=True)[0]
        return ((flat - lo) / (hi - lo + 1e-7)).view_as(sal).numpy()


def build_cam(method: str, model: DetectorScores, target_layers, layer_names, batch_size: int = 32,
              ratio_channels_to_ablate: float = 1.0, num_masks: int = 1000, aug_smooth: bool = False,
              fast_ablation: bool = True):
    """A callable ``(input, boxes, labels, targets, eigen_smooth) -> (K, H, W)`` maps in input pixels."""
    if method not in METHODS:
        raise UserError(f'--method {method!r}: use one of {", ".join(METHODS)}')
    if method == 'drise':
        drise = DRISE(model, num_masks=num_masks, batch_size=batch_size)
        def run_drise(inputs, boxes, labels, targets, eigen_smooth=False):
            return drise(inputs, boxes, labels)
        run_drise.shares_input = True  # batched masks of the one picture score every box
        return run_drise
    tta = None
    if aug_smooth:  # brightness only: a flip would move the box away from its prior
        import ttach
        tta = ttach.Compose([ttach.Multiply(factors=[0.9, 1.0, 1.1])])
    if method == 'ablationcam':
        levels = {}
        for layer, name in zip(target_layers, layer_names):
            if name.startswith('neck.out_layers'):
                levels[id(layer)] = int(name.rsplit('.', 1)[-1])
        if fast_ablation and len(levels) == len(target_layers):
            cam = FastAblationCAM(model, target_layers, batch_size, ratio_channels_to_ablate, levels)
        else:  # any other layer: pytorch-grad-cam's own, which reruns the whole network per channel batch
            cam = WholeNetworkAblationCAM(model, target_layers, batch_size, ratio_channels_to_ablate)
    elif method == 'eigencam':
        cam = OrientedEigenCAM(model, target_layers)
    else:
        cam = GRADIENT_METHODS[method](model, target_layers)
    if tta is not None:
        cam.tta_transforms = tta
    keep_outputs_intact(target_layers)

    def run(inputs, boxes, labels, targets, eigen_smooth=False):
        return maps_of_targets(cam, inputs, targets, aug_smooth, eigen_smooth)
    run.cam = cam
    run.shares_input = getattr(cam, 'shares_input', False)
    return run
