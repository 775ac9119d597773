"""Box maps computed once for all the boxes of an image give the maps of the per-box computation.

AblationCAM: one head rerun (one level) per batch of ablated channels serves every box; the reference is
the per-box path (``reference_cams.PerBoxAblationCAM``). EigenCAM / EigenGradCAM: the Gram-matrix projection gives
pytorch-grad-cam's projection (full SVD), and EigenCAM runs the network once for every box.
"""
import numpy as np
import pytest
import torch

from conftest import ROOT, SHARED, requires_shared
from reference_cams import use_reference


@pytest.fixture(scope='module')
def runner():
    from mmyolo_vis.models.detector import ModelRunner
    return ModelRunner(str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'),
                       str(ROOT / 'checkpoints/yolov5_n_shapes.pth'), 'cpu')


@pytest.fixture(scope='module')
def dense_scene():
    """A generated 640x480 scene with many shapes (the demo detector finds 15 or more of them)."""
    from mmyolo_vis.datasets.shapes import render_scene
    img, objects = render_scene(np.random.default_rng(7), 640, 480, 24, 24, 90, clutter=4, max_overlap=0.1)
    assert len(objects) >= 20
    return img


def box_maps(runner, image, monkeypatch=None, reference=False, **kw):
    from mmyolo_vis.detection.boxam import BoxAM
    if reference:
        with monkeypatch.context() as m:
            use_reference(m, kw['method'])
            return BoxAM(runner, **kw).run(image)
    return BoxAM(runner, **kw).run(image)


@pytest.mark.parametrize('ratio, layers', [(0.5, None), (0.25, ['neck.out_layers[1]', 'neck.out_layers[2]'])])
def test_shared_ablation_equals_per_box_ablation(runner, dense_scene, monkeypatch, ratio, layers):
    kw = dict(method='ablationcam', topk=-1, batch_size=48, ratio_channels_to_ablate=ratio, target_layers=layers)
    shared = box_maps(runner, dense_scene, **kw)
    per_box = box_maps(runner, dense_scene, monkeypatch, reference=True, **kw)
    assert len(shared.boxes) >= 15
    assert np.array_equal(shared.boxes, per_box.boxes)
    assert shared.maps.shape == per_box.maps.shape == (len(shared.boxes), 480, 640)
    assert (shared.maps.reshape(len(shared.maps), -1).max(1) > 0.99).sum() >= 10  # real maps
    assert np.abs(shared.maps - per_box.maps).max() <= 1e-4


def test_level_scores_are_the_head_scores(runner, dense_scene):
    """The one-level head rerun (on windows around the priors' cells) scores a prior exactly as the full
    head does, with and without an ablated channel."""
    from mmyolo_vis.detection.scores import DetectorScores
    scores_model = DetectorScores(runner.model)
    inputs = runner.preprocess(runner.prepare([dense_scene]))['inputs']
    with torch.no_grad():
        full, _ = scores_model.decode(inputs)
        feats = scores_model.neck_feats
        ranges = scores_model.level_priors(feats)
        assert ranges[-1].stop == full.shape[1]
        gen = torch.Generator().manual_seed(0)
        for level, r in enumerate(ranges):
            assert scores_model.head_radius(level, feats) == 0  # YOLOv5: a 1x1 convolution per level
            priors = torch.randint(0, len(r), (20,), generator=gen)
            labels = torch.randint(0, full.shape[2], (20,), generator=gen)
            got = scores_model.level_scores(level, feats, priors, labels)
            assert got.shape == (1, 20)
            assert torch.allclose(got[0], full[0, priors + r.start, labels], atol=1e-6)
            ablated = [f.clone() for f in feats]
            ablated[level][:, 5] = 0
            want = scores_model.head(ablated)[0][0, priors + r.start, labels]
            got = scores_model.level_scores(level, feats, priors, labels, torch.tensor([3, 5]))
            assert got.shape == (2, 20) and torch.allclose(got[1], want, atol=1e-6)
            assert not torch.allclose(got[0], want, atol=1e-6)


def test_principal_projection_is_pytorch_grad_cams_projection(runner, dense_scene):
    """The Gram-matrix projection against pytorch-grad-cam's full SVD, on the demo detector's neck outputs (80x80 at most
    here: 40x40 .. 10x10) and on random activations: correlation >= 0.999 once both are oriented."""
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    from mmyolo_vis.cam.eigen import orient_like, principal_projection
    from mmyolo_vis.detection.scores import DetectorScores
    scores_model = DetectorScores(runner.model)
    inputs = runner.preprocess(runner.prepare([dense_scene]))['inputs']
    with torch.no_grad():
        scores_model.decode(inputs)
    rng = np.random.default_rng(0)
    batches = [f.numpy() for f in scores_model.neck_feats] + [rng.normal(size=(3, 16, 24, 20)).astype(np.float32)]
    for act in batches:
        ours = orient_like(principal_projection(act), act.sum(1))
        ref = orient_like(get_2d_projection(act.copy()), act.sum(1))
        assert ours.shape == ref.shape == (act.shape[0], *act.shape[2:])
        for a, b in zip(ours, ref):
            assert np.corrcoef(a.ravel(), b.ravel())[0, 1] >= 0.999


@pytest.mark.parametrize('method', ['eigencam', 'eigengradcam'])
def test_eigen_box_maps_match_pytorch_grad_cams_projection(runner, dense_scene, monkeypatch, method):
    ours = box_maps(runner, dense_scene, method=method, topk=6)
    ref = box_maps(runner, dense_scene, monkeypatch, reference=True, method=method, topk=6)
    assert ours.maps.shape == ref.maps.shape == (6, 480, 640)
    for a, b in zip(ours.maps, ref.maps):
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] >= 0.999
    if method == 'eigencam':  # no target: one forward pass, one map given to every box
        assert all(np.array_equal(m, ours.maps[0]) for m in ours.maps)


@requires_shared
def test_shared_ablation_on_the_coco_model(monkeypatch):
    """dog.jpg, the real COCO YOLOv5-n, every box, MMYOLO's usual coarsest neck output and the finest one."""
    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.models.detector import ModelRunner
    coco = ModelRunner('mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py',
                       str(SHARED / 'yolov5_n-v61_coco.pth'), 'cpu')
    dog = read_image(str(SHARED / 'dog.jpg'))
    kw = dict(method='ablationcam', topk=-1, batch_size=64, target_layers=['neck.out_layers[0]', 'neck.out_layers[2]'])
    shared = box_maps(coco, dog, **kw)
    per_box = box_maps(coco, dog, monkeypatch, reference=True, **kw)
    assert len(shared.boxes) == 5 and shared.maps.shape == (5, 576, 768)
    assert np.abs(shared.maps - per_box.maps).max() <= 1e-4
