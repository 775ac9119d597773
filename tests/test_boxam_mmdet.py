"""Box maps on every kind of MMDetection detector (issue 21): dense one-stage, two-stage and DETR-family heads,
on small randomly initialised models built from MMDetection's own configs (tests/mmdet_models.py)."""
import cv2
import numpy as np
import pytest
import torch

from conftest import run_cli
from mmdet_models import CONFIGS, KINDS, image, small_options, small_runner
from mmyolo_vis.cam.gradient import GRADIENT_METHODS
from mmyolo_vis.core.errors import UserError
from mmyolo_vis.detection.cams import METHODS

_RUNNERS = {}


def runner_of(name):
    """Each model is built once for the module (the cases of one config share it)."""
    if name not in _RUNNERS:
        _RUNNERS[name] = small_runner(name)
    return _RUNNERS[name]


@pytest.fixture(scope='module', autouse=True)
def _free_models():
    yield
    _RUNNERS.clear()


def settings(name):
    # a DETR reruns its whole transformer per batch of ablated channels: fewer channels there
    return dict(score_thr=-1, topk=2, batch_size=64, num_masks=4,
                ratio_channels_to_ablate=0.02 if KINDS[name] == 'detr' else 0.1)


@pytest.mark.parametrize('name', list(CONFIGS))
def test_every_method_explains_each_box_by_its_own_score(name):
    """Every method gives every box a finite map of the image's size, and the target of each box (its prior,
    RoI or query, and class, in the model the CAM runs) has the detection's score."""
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.detection.kinds import detector_kind
    runner = runner_of(name)
    assert detector_kind(runner.model) == KINDS[name]
    img = image()
    inputs = runner.preprocess(runner.prepare([img]))['inputs']
    for method in METHODS:
        boxam = BoxAM(runner, method, **settings(name))
        res = boxam.run(img)
        assert res.maps.shape == (2, 120, 200), (name, method)
        assert np.isfinite(res.maps).all() and res.maps.min() >= 0 and res.maps.max() <= 1, (name, method)
        # two different targets (a sigmoid DETR may give one query two classes)
        assert len(set((p, label) for p, label, _ in boxam.last_targets)) == 2, (name, method)
        with torch.no_grad():  # the model pytorch-grad-cam runs, on the picture, scores each target
            out = boxam.wrapper(inputs)
        values = np.array([float(out[0, p, label]) for p, label, _ in boxam.last_targets])
        assert np.abs(values - res.scores).max() <= 1e-4, (name, method, values, res.scores)
        if method in GRADIENT_METHODS:
            grads = boxam.cam.cam.activations_and_grads.gradients
            assert len(grads) == len(boxam.layer_names)
            assert any(float(g.abs().sum()) > 0 for g in grads), (name, method)


@pytest.mark.parametrize('name, layers', [('retinanet', None), ('faster_rcnn', None), ('detr', ['encoder'])])
def test_neck_rerun_ablation_equals_whole_network_ablation(name, layers):
    """Rerunning only the neck and head (the backbone kept) for every box at once gives the maps of
    pytorch-grad-cam's whole-network reruns (also with a DETR encoder's output grids as the target)."""
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.detection.cams import RerunAblationCAM
    runner = runner_of(name)
    kw = dict(settings(name), method='ablationcam', topk=3, target_layers=layers)
    fast = BoxAM(runner, **kw)
    assert isinstance(fast.cam.cam, RerunAblationCAM)
    slow = BoxAM(runner, **kw, fast_ablation=False)
    a, b = fast.run(image(1)), slow.run(image(1))
    fast.close(), slow.close()  # the model is shared by the module's tests: no hooks left on it
    assert a.maps.shape == b.maps.shape == (3, 120, 200)
    assert np.abs(a.maps - b.maps).max() <= 1e-3


def test_rtmdet_and_yolox_of_mmdetection_are_not_taken_for_mmyolo_heads():
    from mmyolo_vis.detection.kinds import detector_kind
    from mmyolo_vis.detection.scores import DetectorScores
    assert detector_kind(runner_of('rtmdet').model) == detector_kind(runner_of('yolox').model) == 'dense'
    assert not isinstance(__import__('mmyolo_vis.detection.kinds', fromlist=['x']).build_scores(
        runner_of('yolox').model), DetectorScores)


def test_default_target_layers_are_the_neck_outputs_the_finest_for_a_detr():
    from mmyolo_vis.detection.kinds import default_target_layers
    assert default_target_layers(runner_of('retinanet').model) == [f'neck.fpn_convs.{i}' for i in range(5)]
    # Faster R-CNN's fifth level is a max-pooled P5: no module of its own
    assert default_target_layers(runner_of('faster_rcnn').model) == [f'neck.fpn_convs.{i}' for i in range(4)]
    # a DETR: the finest of the maps that enter the encoder (tests/test_boxam_detr_layers.py measures why)
    assert default_target_layers(runner_of('dino').model) == ['neck.convs.0']


def test_an_unknown_detector_gets_one_line_naming_the_kinds():
    from mmyolo_vis.detection.kinds import detector_kind
    model = torch.nn.Module()
    model.bbox_head = torch.nn.Linear(1, 1)
    with pytest.raises(UserError) as e:
        detector_kind(model)
    message = str(e.value)
    assert '\n' not in message and 'this model is a Module with Linear' in message
    for kind in ('MMYOLO heads', 'dense one-stage', 'two-stage', 'DETR family'):
        assert kind in message


def test_drise_works_on_a_detector_of_no_known_kind():
    """FoveaBox decodes its own way: the gradient methods refuse it in one line, D-RISE explains its final
    detections (it needs only predictions)."""
    from mmyolo_vis.detection.boxam import BoxAM
    runner = small_runner('fovea')
    with pytest.raises(UserError, match='this model is a FOVEA with FoveaHead .--method drise works on any'):
        BoxAM(runner, 'gradcam')
    boxam = BoxAM(runner, 'drise', score_thr=-1, topk=2, num_masks=4)
    res = boxam.run(image())
    assert res.maps.shape == (2, 120, 200) and np.isfinite(res.maps).all() and res.maps.max() > 0.99
    assert [p for p, _, _ in boxam.last_targets] == [0, 1]  # the detections themselves, best first
    assert np.abs(np.array([v for _, _, v in boxam.last_targets]) - res.scores).max() <= 1e-6


@pytest.mark.parametrize('name', ['retinanet', 'faster_rcnn', 'dino'])
def test_boxam_demo_end_to_end(name, tmp_path, capsys):
    """boxam_vis_demo.py on a config of each kind: the picture and the raw maps of every box."""
    from mmyolo_vis.apps.boxam import cli
    from mmyolo_vis.models.config import load_config
    runner = runner_of(name)
    config = tmp_path / f'{name}.py'
    load_config(CONFIGS[name], small_options(name)).dump(str(config))
    ckpt = tmp_path / f'{name}.pth'
    torch.save(dict(state_dict=runner.model.state_dict(), meta=dict(dataset_meta=dict(classes=runner.classes))),
               ckpt)
    img = tmp_path / 'a.jpg'
    cv2.imwrite(str(img), image())
    code, _, err = run_cli(cli, capsys, img, config, ckpt, '--device', 'cpu', '--out-dir', tmp_path / 'out',
                           '--method', 'hirescam', '--score-thr', '-1', '--topk', '2', '--save-raw')
    assert code == 0, err
    assert cv2.imread(str(tmp_path / 'out/a.jpg')).shape == (120, 200, 3)
    raw = np.load(tmp_path / 'out/a.npz')
    assert raw['maps'].shape == (2, 120, 200) and np.isfinite(raw['maps']).all()
    assert raw['boxes'].shape == (2, 4)


def neck_shapes(runner, img):
    from mmyolo_vis.models.capture import capture
    with torch.no_grad(), capture(runner.model, ['neck']) as cap:
        runner.predict(runner.preprocess(runner.prepare([img])))
    return [tuple(t.shape) for t in cap.maps.values()]  # one entry per level


@pytest.mark.parametrize('name, methods', [
    ('dino', ('hirescam', 'eigengradcam', 'eigencam', 'ablationcam', 'drise')),
    ('detr', METHODS)])
def test_detr_encoder_output_tokens_as_per_level_grids(name, methods):
    """``--target-layers encoder`` on a DETR: the encoder's output tokens, one grid per level of the neck's
    shapes (DINO-4scale: four; DETR: its one level), on the gradient path of every box's score; each box's
    target still has the detection's score, the maps are finite and image-sized, and the hooks leave the
    detections unchanged and leave the model with the CAM."""
    from mmyolo_vis.detection.boxam import BoxAM
    runner = runner_of(name)
    img = image(2)
    shapes = neck_shapes(runner, img)
    assert len(shapes) == (4 if name == 'dino' else 1)
    inputs = runner.preprocess(runner.prepare([img]))['inputs']
    plain = BoxAM(runner, 'drise', **dict(settings(name), num_masks=1)).run(img)
    for method in methods:
        boxam = BoxAM(runner, method, ['encoder'], **settings(name))
        assert boxam.layer_names == ['encoder'] and len(boxam.layers) == len(shapes)
        assert len(runner.model.encoder._forward_hooks) == 1
        res = boxam.run(img)
        assert np.array_equal(res.boxes, plain.boxes) and np.array_equal(res.scores, plain.scores), method
        assert res.maps.shape == (2, 120, 200) and np.isfinite(res.maps).all(), method
        if name == 'dino' or method in ('eigengradcam', 'eigencam', 'drise'):  # real maps, not blank ones
            # (random DETR's one 3x5 grid: gradient x activation is negative at every cell, ReLU'd to 0)
            assert res.maps.reshape(2, -1).max(1).min() > 0.99, method
        if method != 'drise':  # the grids the CAM saw (before the pass below adds to them)
            acts = boxam.cam.cam.activations_and_grads.activations
            assert [tuple(a.shape[1:]) for a in acts] == [s[1:] for s in shapes], method
        if method in GRADIENT_METHODS:
            grads = boxam.cam.cam.activations_and_grads.gradients
            assert [tuple(g.shape[1:]) for g in grads] == [s[1:] for s in shapes]
            assert all(float(g.abs().sum()) > 0 for g in grads), method  # every level feeds the decoder
        with torch.no_grad():
            out = boxam.wrapper(inputs)
        values = np.array([float(out[0, p, label]) for p, label, _ in boxam.last_targets])
        assert np.abs(values - res.scores).max() <= 1e-4, (method, values, res.scores)
        boxam.close()
        assert len(runner.model.encoder._forward_hooks) == 0 and len(runner.model.neck._forward_hooks) == 0


def test_encoder_is_an_ordinary_layer_name_elsewhere():
    """On a model that is no DETR, ``encoder`` is looked up as a module path: an unknown layer, one line."""
    from mmyolo_vis.detection.boxam import BoxAM
    with pytest.raises(UserError, match="unknown layer 'encoder'"):
        BoxAM(runner_of('retinanet'), 'hirescam', ['encoder'])
