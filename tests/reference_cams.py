"""Reference implementations the tests compare the package's faster methods against. Not package code.

- ``PerBoxAblationCAM``: the package's AblationCAM before boxes shared their head reruns: for every box,
  for every batch of ablated channels, the whole head (all levels) reruns on a batch of the neck outputs.
- ``ProjectionEigenCAM`` / ``ProjectionEigenGradCAM``: EigenCAM / EigenGradCAM with pytorch-grad-cam's own
  projection (full SVD), oriented as the package orients its maps.
"""
import numpy as np
import torch
from pytorch_grad_cam import EigenCAM, EigenGradCAM
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

from mmyolo_vis.cam.ablation import channels_to_ablate
from mmyolo_vis.cam.eigen import orient_like
from mmyolo_vis.cam.base import without_float_noise


class PerBoxAblationCAM(BaseCAM):
    """Same constructor as ``FastAblationCAM``; takes the input expanded to one row per box."""

    def __init__(self, model, target_layers, batch_size=32, ratio_channels_to_ablate=1.0, level_of_layer=None):
        super().__init__(model, target_layers, uses_gradients=False)
        self.batch_size = batch_size
        self.ratio = ratio_channels_to_ablate
        self.level_of_layer = level_of_layer or {}

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        level = self.level_of_layer[id(target_layer)]
        feats = self.model.neck_feats
        weights = np.zeros(activations.shape[:2], np.float32)
        with torch.no_grad():
            for b, target in enumerate(targets):
                base = [f[b:b + 1] for f in feats]
                original = float(target(self.model.head(base)[0][0]))
                chosen = channels_to_ablate(activations[b], self.ratio)
                scores = np.full(activations.shape[1], original, np.float32)
                for start in range(0, len(chosen), self.batch_size):
                    chans = chosen[start:start + self.batch_size]
                    n = len(chans)
                    batch = [f.expand(n, *f.shape[1:]) for f in base]
                    ablated = base[level].repeat(n, 1, 1, 1)
                    ablated[torch.arange(n), torch.as_tensor(chans)] = 0
                    batch[level] = ablated
                    out = self.model.head(batch)[0]
                    scores[chans] = np.array([float(target(o)) for o in out], np.float32)
                weights[b] = (original - scores) / (original + 1e-7)
        return without_float_noise(weights)


class ProjectionEigenCAM(EigenCAM):
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads, eigen_smooth):
        return orient_like(get_2d_projection(activations), activations.sum(1))


class ProjectionEigenGradCAM(EigenGradCAM):
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads, eigen_smooth):
        return orient_like(get_2d_projection(grads * activations), (grads * activations).sum(1))


def use_reference(monkeypatch, method: str):
    """Make ``build_cam`` build the reference class for ``method`` instead of the package's. The names are
    patched in the module ``build_cam`` reads them from (a patch of a re-export elsewhere would leave the
    package's class in place, and a test would compare the package with itself)."""
    from mmyolo_vis.detection import cams
    assert cams.build_cam.__globals__ is vars(cams)
    if method == 'ablationcam':
        assert 'FastAblationCAM' in cams.build_cam.__code__.co_names
        monkeypatch.setattr(cams, 'FastAblationCAM', PerBoxAblationCAM)
    elif method == 'eigencam':
        assert 'OrientedEigenCAM' in cams.build_cam.__code__.co_names
        monkeypatch.setattr(cams, 'OrientedEigenCAM', ProjectionEigenCAM)
    elif method == 'eigengradcam':
        assert 'GRADIENT_METHODS' in cams.build_cam.__code__.co_names
        monkeypatch.setitem(cams.GRADIENT_METHODS, 'eigengradcam', ProjectionEigenGradCAM)
    else:
        raise ValueError(method)
