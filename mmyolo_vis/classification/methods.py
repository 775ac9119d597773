"""The CAM methods a classifier tool offers, by the names MMClassification's users know, and the one class
that differs from the detectors': AblationCAM on logits of either sign."""
from __future__ import annotations

import numpy as np

from ..cam.ablation import WholeNetworkAblationCAM
from ..cam.eigen import OrientedEigenCAM
from ..cam.gradient import GRADIENT_METHODS
from ..core.errors import UserError

METHOD_ALIASES = {'gradcamplusplus': 'gradcam++', 'gradcampp': 'gradcam++'}


METHODS = ('gradcam', 'gradcam++', 'xgradcam', 'eigencam', 'eigengradcam', 'layercam', 'hirescam', 'ablationcam')


GRADIENT_FREE = ('eigencam', 'ablationcam')


def method_name(name: str) -> str:
    """``GradCAM``, ``gradcam``, ``GradCAMPlusPlus`` ... -> the canonical lower-case name."""
    key = name.lower().replace('-', '').replace('_', '')
    key = METHOD_ALIASES.get(key, key)
    if key not in METHODS:
        raise UserError(f'--method {name!r}: use one of {", ".join(METHODS)} (any case: GradCAM works)')
    return key


def cam_class(method: str):
    return {**GRADIENT_METHODS, 'eigencam': OrientedEigenCAM, 'ablationcam': LogitAblationCAM}[method]


class LogitAblationCAM(WholeNetworkAblationCAM):
    """AblationCAM on class logits. pytorch-grad-cam weighs a channel by (score - ablated score) / score: right
    for a positive score (a detector's probability), inverted for a negative logit (any class but the likely
    ones), whose map the ReLU then blanks. Here the drop is divided by |score|: a channel whose ablation
    lowers the class's logit counts for the class, whatever its sign."""

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        weights = super().get_cam_weights(input_tensor, target_layer, targets, activations, grads)
        scores = [float(t(self.outputs[0].detach())) for t in targets]  # the logits of BaseCAM's pass on the picture
        return weights * np.sign(np.float32(scores))[:, None]
