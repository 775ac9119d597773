"""What a box map means, on the shipped demo detector: a scene with two identical squares and a circle.

Methods that weight each cell by its own gradient (hirescam, layercam) put each square's maximum on that
square. Grad-CAM weights each channel by its gradient averaged over the whole map; the YOLOv5 head scores
a prior with a 1x1 convolution of the neck features at its cell, so both squares get the same channel
weights and the same map (the class's evidence at every cell), which peaks on one of them.
"""
import cv2
import numpy as np
import pytest

from conftest import ROOT

SQUARES = [(60, 80, 180, 200), (400, 260, 520, 380)]  # x1, y1, x2, y2; same size and colour
CIRCLE = ((480, 120), 60)


@pytest.fixture(scope='module')
def scene():
    rng = np.random.default_rng(0)
    img = np.clip(np.full((480, 640, 3), 120.0) + rng.normal(0, 8, (480, 640, 3)), 0, 255).astype(np.uint8)
    for x1, y1, x2, y2 in SQUARES:
        cv2.rectangle(img, (x1, y1), (x2, y2), (40, 200, 240), -1)
    cv2.circle(img, *CIRCLE, (200, 60, 60), -1)
    return img


@pytest.fixture(scope='module')
def runner():
    from mmyolo_vis.models.detector import ModelRunner
    return ModelRunner(str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'),
                       str(ROOT / 'checkpoints/yolov5_n_shapes.pth'), 'cpu')


def square_maps(runner, scene, method):
    from mmyolo_vis.detection.boxam import BoxAM
    res = BoxAM(runner, method, classes=['square']).run(scene)
    assert len(res.boxes) == 2 and (res.scores > 0.9).all()
    order = np.argsort(res.boxes[:, 0])  # left square first, as in SQUARES
    assert np.abs(res.boxes[order] - np.array(SQUARES)).max() < 12
    return res.maps[order]


def peak(m):
    y, x = np.unravel_index(int(m.argmax()), m.shape)
    return x, y


def inside(point, box):
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.mark.parametrize('method', ['hirescam', 'layercam'])
def test_cell_weighted_maps_point_at_their_own_square(runner, scene, method):
    maps = square_maps(runner, scene, method)
    for m, box in zip(maps, SQUARES):
        assert inside(peak(m), box)
    assert np.corrcoef(maps[0].ravel(), maps[1].ravel())[0, 1] < 0.2


def test_gradcam_gives_both_squares_the_same_class_map(runner, scene):
    maps = square_maps(runner, scene, 'gradcam')
    assert np.corrcoef(maps[0].ravel(), maps[1].ravel())[0, 1] > 0.95
    peaks = [peak(m) for m in maps]
    assert all(inside(p, SQUARES[0]) for p in peaks) or all(inside(p, SQUARES[1]) for p in peaks)


@pytest.mark.parametrize('method, noted', [('gradcam', True), ('hirescam', False)])
def test_demo_says_once_when_boxes_share_a_class_map(capsys, tmp_path, scene, method, noted):
    from conftest import run_cli
    from mmyolo_vis.apps.boxam import cli
    (tmp_path / 'in').mkdir()
    for name in ('a.jpg', 'b.jpg'):  # two images: the note is said once
        cv2.imwrite(str(tmp_path / 'in' / name), scene)
    code, _, err = run_cli(cli, capsys, tmp_path / 'in', ROOT / 'configs/yolov5/yolov5_n_shapes.py',
                           ROOT / 'checkpoints/yolov5_n_shapes.pth', '--device', 'cpu', '--method', method,
                           '--out-dir', tmp_path / 'out')
    assert code == 0 and len(list((tmp_path / 'out').glob('*.jpg'))) == 2
    assert err.count('boxes of one class get much the same map') == (1 if noted else 0)


@pytest.mark.parametrize('image, ratio, topk', [('demo_scene', 1.0, 1), ('squares', 0.25, 2)])
def test_fast_ablation_equals_whole_network_ablation(runner, scene, image, ratio, topk):
    """Head-only reruns from the cached neck outputs give the map of pytorch-grad-cam's whole-network
    AblationCAM (with zero as the ablated value), for all channels and for a share of them. The levels the
    box does not depend on stay blank in both (no float noise scaled up to a map)."""
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.core.images import read_image
    img = read_image(str(ROOT / 'demo/demo_scene.jpg')) if image == 'demo_scene' else scene
    kw = dict(method='ablationcam', topk=topk, batch_size=64, ratio_channels_to_ablate=ratio)
    fast = BoxAM(runner, **kw).run(img)
    whole = BoxAM(runner, fast_ablation=False, **kw).run(img)
    assert fast.maps.shape == whole.maps.shape == (topk, 480, 640)
    assert (fast.maps.reshape(topk, -1).std(1) > 0.05).all()  # real maps, not constant ones
    assert np.abs(fast.maps - whole.maps).max() < 1e-3


def test_box_from_a_finer_level_gets_a_blank_map_and_a_note(capsys, tmp_path):
    """The star of the demo scene (43x30 px) comes from the finest level: with only the coarsest neck output
    (MMYOLO's usual --target-layers) its map is blank and the demo says why, instead of stopping."""
    from conftest import run_cli
    from mmyolo_vis.apps.boxam import cli
    base = [ROOT / 'demo/demo_scene.jpg', ROOT / 'configs/yolov5/yolov5_n_shapes.py',
            ROOT / 'checkpoints/yolov5_n_shapes.pth', '--device', 'cpu', '--save-raw', '--out-dir', tmp_path]
    code, _, err = run_cli(cli, capsys, *base, '--target-layers', 'neck.out_layers[2]', '--classes', 'star')
    assert code == 0, err
    assert err.count('1 box map is blank: its score does not depend on --target-layers neck.out_layers[2]') == 1
    raw = np.load(tmp_path / 'demo_scene.npz')
    assert raw['labels'].tolist() == [3] and raw['maps'].max() == 0
    code, _, err = run_cli(cli, capsys, *base, '--target-layers', 'neck.out_layers[0]', '--classes', 'star')
    assert code == 0 and 'blank' not in err
    assert np.load(tmp_path / 'demo_scene.npz')['maps'].max() > 0.99  # its own level: a map
