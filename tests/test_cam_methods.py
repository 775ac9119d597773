"""Our additions to pytorch-grad-cam's methods, on synthetic activations."""
import numpy as np
import pytest
import torch.nn as nn

from mmyolo_vis.cam.eigen import OrientedEigenCAM, OrientedEigenGradCAM, orient_like
from mmyolo_vis.cam.ablation import channels_to_ablate


def blob_activations(seed: int, c: int = 6, size: int = 12):
    """(1, C, H, W) activations: weak noise plus a strong blob at a random cell."""
    rng = np.random.default_rng(seed)
    act = rng.normal(0, 0.05, (1, c, size, size)).astype(np.float32)
    y, x = rng.integers(2, size - 2, 2)
    act[0, :, y - 1:y + 2, x - 1:x + 2] += rng.uniform(0.5, 2.0, (c, 1, 1)).astype(np.float32)
    return act, (int(y), int(x))


def test_orient_like_flips_only_anti_correlated_maps():
    ref = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    assert np.array_equal(orient_like(-ref, ref), ref)
    assert np.array_equal(orient_like(2 * ref, ref), 2 * ref)


def test_eigen_maps_point_at_the_active_cells():
    model = nn.Conv2d(3, 6, 1)  # get_cam_image uses only the arrays it is given
    cam, gcam = OrientedEigenCAM(model, [model]), OrientedEigenGradCAM(model, [model])
    # (pytorch-grad-cam's own projection comes out inverted for half of these seeds on this machine)
    for seed in range(12):
        act, (y, x) = blob_activations(seed)
        m = np.maximum(cam.get_cam_image(None, None, None, act, None, False)[0], 0)
        assert abs(np.unravel_index(m.argmax(), m.shape)[0] - y) <= 1
        assert abs(np.unravel_index(m.argmax(), m.shape)[1] - x) <= 1
        grads = np.ones_like(act)
        g = np.maximum(gcam.get_cam_image(None, None, None, act, grads, False)[0], 0)
        assert abs(np.unravel_index(g.argmax(), g.shape)[0] - y) <= 1


def test_channels_to_ablate_share():
    act = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((10, 2, 2), np.float32)
    assert channels_to_ablate(act, 0.3).tolist() == [7, 8, 9]
    assert len(channels_to_ablate(act, 1.0)) == 10


def test_zero_ablation_layer_zeroes_one_channel_per_batch_member():
    import torch

    from mmyolo_vis.cam.ablation import ZeroAblationLayer
    layer = ZeroAblationLayer()
    act = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2) - 5  # negative values too
    assert layer.activations_to_be_ablated(act, 0.5).tolist() == [2, 3]  # the two most active channels
    layer.set_next_batch(0, torch.from_numpy(act)[None], 2)
    out = layer(None)
    assert out.shape == (2, 4, 3, 2)
    assert (out[0, 2] == 0).all() and (out[1, 3] == 0).all()
    assert torch.equal(out[0, 3], torch.from_numpy(act[3])) and torch.equal(out[1, 2], torch.from_numpy(act[2]))


def test_float_noise_weights_dropped():
    from mmyolo_vis.cam.base import without_float_noise
    w = np.array([[1.2e-7, -3e-6, 0.02, -0.5]], np.float32)
    assert without_float_noise(w).tolist() == [[0.0, 0.0, np.float32(0.02), -0.5]]
