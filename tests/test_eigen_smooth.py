"""--eigen-smooth on the gradient methods: the same principal component as pytorch-grad-cam's projection,
from the C x C Gram matrix instead of a full SVD, and oriented like the method's own map."""
import numpy as np
import pytest
import torch.nn as nn


def blobs(rng, b=3, c=16, h=24, w=24):
    """Activations with two active blobs (and noise), gradients of either sign."""
    yy, xx = np.mgrid[:h, :w]
    act = rng.normal(0, 0.1, (b, c, h, w)).astype(np.float32)
    for i in range(b):
        for cy, cx in rng.integers(4, 20, (2, 2)):
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 12.0)
            act[i] += rng.uniform(0.2, 1.5, (c, 1, 1)) * blob
    grads = rng.normal(0, 1, (b, c, h, w)).astype(np.float32) + 0.3
    return act, grads


@pytest.mark.parametrize('method', ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam'])
def test_eigen_smooth_is_pytorch_grad_cams_component_with_the_maps_sign(method):
    import pytorch_grad_cam
    from mmyolo_vis.cam.gradient import GRADIENT_METHODS
    upstream = {'gradcam': pytorch_grad_cam.GradCAM, 'gradcam++': pytorch_grad_cam.GradCAMPlusPlus,
                'xgradcam': pytorch_grad_cam.XGradCAM, 'hirescam': pytorch_grad_cam.HiResCAM,
                'layercam': pytorch_grad_cam.LayerCAM}[method]
    model = nn.Sequential(nn.Conv2d(3, 16, 3))
    ours, theirs = GRADIENT_METHODS[method](model, [model[0]]), upstream(model, [model[0]])
    rng = np.random.default_rng(3)
    flipped = 0
    for _ in range(4):
        act, grads = blobs(rng)
        smooth = ours.get_cam_image(None, model[0], None, act, grads, True)
        reference = theirs.get_cam_image(None, model[0], None, act, grads, True)
        plain = ours.get_cam_image(None, model[0], None, act, grads, False)
        assert smooth.shape == reference.shape == plain.shape == (3, 24, 24)
        for s, r, p in zip(smooth, reference, plain):
            c = np.corrcoef(s.ravel(), r.ravel())[0, 1]
            assert abs(c) > 0.999  # the same component ...
            assert np.corrcoef(s.ravel(), p.ravel())[0, 1] > 0  # ... pointing where the method's map does
            flipped += c < 0
    assert flipped >= 1  # pytorch-grad-cam inverted some of these 12 maps (measured: 1 to 6 per method)
