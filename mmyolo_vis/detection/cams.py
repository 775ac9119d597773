"""CAM methods for detectors: what pytorch-grad-cam lacks in the form needed for box maps, and the one place
that builds a method for a detector (``build_cam``).

- ``FastAblationCAM``: pytorch-grad-cam's AblationCAM reruns the whole network for every ablated channel,
  and for every box. When the target layer is a neck output, only the head depends on it, and only the
  head branch of that level: the neck outputs are computed once (cached by ``DetectorScores``) and that
  level's head alone reruns, for a batch of ablated channels at a time, giving the changed score of every
  box of the image at once. Like pytorch-grad-cam's methods it is a BaseCAM subclass that overrides
  ``get_cam_weights``. Other target layers use ``cam.ablation.WholeNetworkAblationCAM``.
- ``RerunAblationCAM``: the same for MMDetection's kinds (dense, two-stage, DETR), whose heads score every
  box at once from all levels (a RoI head, a transformer): the backbone's outputs are kept from the image's
  pass, and for a batch of ablated channels of a neck layer only the neck and the head rerun (the layer's
  output becomes the batch of ablated copies), scoring every box of the image at once.
- ``DRISE`` (Petsiuk et al., CVPR 2021): random masks, batched forward passes, no gradients; a mask's
  weight for a box is max over predictions of IoU x the prediction's score for the box's class.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from pytorch_grad_cam.base_cam import BaseCAM

from ..cam.ablation import WholeNetworkAblationCAM, channels_to_ablate
from ..cam.base import keep_outputs_intact, maps_of_targets, scale_maps, without_float_noise
from ..cam.eigen import OrientedEigenCAM
from ..cam.gradient import GRADIENT_METHODS
from ..core.errors import UserError
from ..core.progress import progress_bar
from ..models.capture import without_forward_hooks
from .base import box_iou
from .encoder_grids import PREFIX as ENCODER_GRID
from .scores import DetectorScores  # or any kinds.build_scores model

METHODS = (*GRADIENT_METHODS, 'eigencam', 'ablationcam', 'drise')


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


class RerunAblationCAM(FastAblationCAM):
    """AblationCAM for a target layer inside the neck of an MMDetection kind, or a DETR encoder's output grids
    (see the module note): one rerun of the neck and head per batch of ablated channels, for every box; the
    backbone runs once."""

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        backbone = self.model.backbone_feats  # this image's (batch of one), from the forward pass just made
        if self.bar is None:
            self._advance(0)  # the bar's total, from the activations of the image's pass alone
        kept = self.activations_and_grads.activations
        count = len(kept)  # the reruns below pass the activation hooks again: their copies are dropped
        chosen = channels_to_ablate(activations[0], self.ratio)
        weights = np.zeros((len(targets), activations.shape[1]), np.float32)
        device = backbone[0].device
        index = torch.tensor([t.prior for t in targets], device=device)
        label = torch.tensor([t.label for t in targets], device=device)
        with torch.no_grad():
            original = self.model.from_backbone(backbone)[0, index, label]
            for start in range(0, len(chosen), self.batch_size):
                chans = torch.as_tensor(chosen[start:start + self.batch_size], device=device)
                n = len(chans)

                def ablate(module, inputs, output):  # copy i of the layer's output without channel chans[i]
                    out = output.expand(n, *output.shape[1:]).clone() if len(output) == 1 else output.clone()
                    out[torch.arange(n, device=device), chans] = 0
                    return out
                hook = target_layer.register_forward_hook(ablate)
                try:
                    scores = self.model.from_backbone(tuple(f.expand(n, *f.shape[1:]) for f in backbone))
                finally:
                    hook.remove()
                drop = (original[None] - scores[:, index, label]) / (original[None] + 1e-7)  # (n, K)
                weights[:, chans.cpu().numpy()] = drop.T.cpu().numpy()
                del kept[count:]
                self._advance(1)
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
            with without_forward_hooks(self.model):  # no hooks needed; other CAMs' would keep every masked pass
                scores, pred_boxes = self.model.decode(input_tensor * masks.to(input_tensor.device))
            if pred_boxes.dim() == 4:  # one box per class (an R-CNN head): each target's class's boxes
                ious = torch.stack([box_iou(boxes[k:k + 1], pred_boxes[:, :, labels[k]])[:, 0]
                                    for k in range(len(boxes))], 1)  # (n, K, N)
            else:
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
        # the neck outputs, or a DETR encoder's output grids (``encoder_grids``): the backbone's outputs are kept
        in_neck = all(name.startswith(('neck.', ENCODER_GRID)) for name in layer_names)
        if fast_ablation and model.kind == 'yolo' and len(levels) == len(target_layers):
            cam = FastAblationCAM(model, target_layers, batch_size, ratio_channels_to_ablate, levels)
        elif fast_ablation and model.kind != 'yolo' and in_neck:
            cam = RerunAblationCAM(model, target_layers, batch_size, ratio_channels_to_ablate)
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
