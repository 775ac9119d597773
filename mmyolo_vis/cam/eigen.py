"""Principal components of a layer's channels, with a sign that means something.

pytorch-grad-cam's EigenCAM and EigenGradCAM keep the principal component with whatever sign the SVD
returns, so a map can come out inverted (the ReLU then keeps the background); ``OrientedEigenCAM`` /
``OrientedEigenGradCAM`` fix the sign (``orient_like``) and project through the C x C Gram matrix
(``principal_projection``) instead of pytorch-grad-cam's full SVD. ``EigenSmoothed`` gives the gradient
methods' ``--eigen-smooth`` the same projection.
"""
from __future__ import annotations

import numpy as np
from pytorch_grad_cam import EigenCAM, EigenGradCAM


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
