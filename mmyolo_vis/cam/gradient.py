"""The gradient methods (pytorch-grad-cam's classes), each with an ``--eigen-smooth`` that keeps the sign of
the method's own map (``eigen.EigenSmoothed``)."""
from __future__ import annotations

import numpy as np
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM

from .eigen import EigenSmoothed, OrientedEigenGradCAM


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


# One weight per channel from the gradient averaged over the whole map: with a head that scores each prior
# from its own cell, every box of a class and level gets the same weights, so the same (class) map.
GLOBAL_WEIGHT_METHODS = ('gradcam', 'gradcam++', 'xgradcam')
