"""Every YOLO family, every CAM method, on a small randomly initialised model built from MMYOLO's config."""
import numpy as np
import pytest
import torch

from mmyolo_vis.cam.gradient import GRADIENT_METHODS
from mmyolo_vis.detection.cams import METHODS

FAMILIES = {
    'yolov5': 'mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py',
    'yolov6': 'mmyolo::yolov6/yolov6_n_syncbn_fast_8xb32-400e_coco.py',
    'yolov7': 'mmyolo::yolov7/yolov7_tiny_syncbn_fast_8x16b-300e_coco.py',
    'yolov8': 'mmyolo::yolov8/yolov8_n_syncbn_fast_8xb16-500e_coco.py',
    'yolox': 'mmyolo::yolox/yolox_nano_fast_8xb8-300e_coco.py',
    'rtmdet': 'mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py',
    'ppyoloe': 'mmyolo::ppyoloe/ppyoloe_plus_s_fast_8xb8-80e_coco.py',
}
RADIUS = {'yolov5': 0, 'yolov6': 1, 'yolov7': 0, 'yolov8': 2, 'yolox': 2, 'rtmdet': 2, 'ppyoloe': None}
SMALL_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='YOLOv5KeepRatioResize', scale=(160, 160)),
    dict(type='LetterResize', scale=(160, 160), allow_scale_up=False, pad_val=dict(img=114)),
    dict(type='mmdet.PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                                'pad_param')),
]


def calibrate_batch_norm(runner):
    """Batch-norm statistics from random images: without them activations of some random networks
    (YOLOv7) grow layer after layer until every score saturates at 1 and no gradient flows."""
    model = runner.model
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (120, 200, 3), dtype=np.uint8) for _ in range(4)]
    inputs = runner.preprocess(runner.prepare(images))['inputs']  # each family's own normalisation
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        model._forward(inputs)
    model.eval()


def family_runner(family):
    """A small randomly initialised detector of ``family`` with calibrated batch norms, 160 px input."""
    from mmyolo_vis.models.detector import ModelRunner
    torch.manual_seed(0)
    runner = ModelRunner(FAMILIES[family], None, 'cpu', {'test_dataloader.dataset.pipeline': SMALL_PIPELINE,
                                                         'model.test_cfg.score_thr': 0.0,
                                                         'model.test_cfg.multi_label': False})
    # The config's own random initialisation (PyTorch's default saturates some heads), then a little noise:
    # some heads start with zero class weights, which would make every score equal and every gradient zero.
    runner.model.init_weights()
    with torch.no_grad():
        for p in runner.model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    calibrate_batch_norm(runner)
    return runner


@pytest.mark.parametrize('family', list(FAMILIES))
def test_every_method_gives_finite_maps_of_the_image_size(family):
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.detection.scores import detector_family
    runner = family_runner(family)
    assert detector_family(runner.model)[0] == family
    image = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    for method in METHODS:
        boxam = BoxAM(runner, method, score_thr=-1, topk=2, batch_size=64, num_masks=8,
                      ratio_channels_to_ablate=0.25)
        res = boxam.run(image)
        assert res.maps.shape == (2, 120, 200), (family, method)
        assert np.isfinite(res.maps).all() and res.maps.min() >= 0 and res.maps.max() <= 1
        if method in GRADIENT_METHODS:
            grads = boxam.cam.cam.activations_and_grads.gradients
            assert len(grads) == len(boxam.layer_names) == 3
            # each box's score comes from one pyramid level: that level's output gets a gradient
            assert any(float(g.abs().sum()) > 0 for g in grads), (family, method)


@pytest.mark.parametrize('family', list(FAMILIES))
def test_shared_ablation_equals_per_box_ablation(family, monkeypatch):
    """One head rerun of the ablated level for every box gives each family's per-box maps (the head
    scores each level from that level alone in every family)."""
    from mmyolo_vis.detection.boxam import BoxAM
    from reference_cams import use_reference
    from mmyolo_vis.detection.scores import DetectorScores
    runner = family_runner(family)
    # how far each head looks around a cell: 1x1 convolutions, 3x3 stacks, or the whole level (PPYOLOE's
    # attention pools it); the ablation reruns the head on windows of that reach
    scores_model = DetectorScores(runner.model)
    with torch.no_grad():
        scores_model.decode(torch.zeros(1, 3, 160, 160))
    assert scores_model.head_radius(0, scores_model.neck_feats) == RADIUS[family]
    image = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    kw = dict(method='ablationcam', score_thr=-1, topk=6, batch_size=16, ratio_channels_to_ablate=0.5)
    shared = BoxAM(runner, **kw).run(image)
    with monkeypatch.context() as m:
        use_reference(m, 'ablationcam')
        per_box = BoxAM(runner, **kw).run(image)
    assert shared.maps.shape == per_box.maps.shape == (6, 120, 200)
    # 1e-3 here, 1e-4 on the trained models (test_boxam_shared_maps): these random heads score ~1e-3, and the
    # relative score drop divides the float noise of differently batched convolutions (~1e-9) by that
    assert np.abs(shared.maps - per_box.maps).max() <= 1e-3, family
