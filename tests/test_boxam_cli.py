"""boxam_vis_demo end to end on the tiny random YOLOv5, and on the real COCO model when it is there."""
import cv2
import numpy as np
import pytest

from conftest import SHARED, TINY_CONFIG, make_image, requires_shared, run_cli
from mmyolo_vis.apps.boxam import cli


def run(capsys, *argv):
    code, _, err = run_cli(cli, capsys, *argv)
    return code, err


@pytest.fixture
def base(tiny_checkpoint, tmp_path):
    return lambda *imgs: [*imgs, TINY_CONFIG, tiny_checkpoint, '--device', 'cpu', '--out-dir', tmp_path / 'out']


def test_no_box_above_threshold_still_writes_the_picture(capsys, base, tmp_path):
    img = make_image(tmp_path / 'a.jpg', 120, 90)
    code, err = run(capsys, *base(img), '--score-thr', '0.99')
    assert code == 0 and 'no box above --score-thr 0.99' in err
    assert cv2.imread(str(tmp_path / 'out/a.jpg')).shape == (90, 120, 3)


@pytest.mark.parametrize('extra, message', [
    (['--classes', 'zebra'], "--classes zebra: not a class of this model (it knows a, b, c)"),
    (['--ratio-channels-to-ablate', '1.5'], 'use a value in (0, 1]'),
    (['--target-layers', 'neck.nope'], "unknown layer 'neck.nope'"),
])
def test_bad_settings(capsys, base, tmp_path, extra, message):
    img = make_image(tmp_path / 'a.jpg')
    code, err = run(capsys, *base(img), *extra)
    assert code == 2 and message in err and err.startswith('error: ')


def test_unknown_method_is_refused_by_argparse(capsys, base, tmp_path):
    with pytest.raises(SystemExit) as e:
        cli([str(a) for a in base(make_image(tmp_path / 'a.jpg'))] + ['--method', 'magiccam'])
    assert e.value.code == 2 and "invalid choice: 'magiccam'" in capsys.readouterr().err


def test_layer_without_gradient():
    """YOLOv8's box-regression branch does not feed the class scores: no gradient reaches it."""
    import torch

    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.core.errors import SettingsError
    from mmyolo_vis.models.detector import ModelRunner
    from test_boxam_families import FAMILIES, SMALL_PIPELINE
    torch.manual_seed(0)
    runner = ModelRunner(FAMILIES['yolov8'], None, 'cpu', {'test_dataloader.dataset.pipeline': SMALL_PIPELINE,
                                                           'model.test_cfg.score_thr': 0.0,
                                                           'model.test_cfg.multi_label': False})
    boxam = BoxAM(runner, 'gradcam', ['bbox_head.head_module.reg_preds[0]'], score_thr=-1, topk=1)
    with pytest.raises(SettingsError, match='gets no gradient from the box scores'):
        boxam.run(np.zeros((100, 120, 3), np.uint8))


def test_ablation_fraction_and_raw_maps(capsys, base, tmp_path):
    img = make_image(tmp_path / 'a.jpg', 140, 100)
    code, err = run(capsys, *base(img), '--method', 'ablationcam', '--ratio-channels-to-ablate', '0.3',
                    '--score-thr', '-1', '--topk', '2', '--save-raw', '--per-box', '--norm-in-bbox',
                    '--cfg-options', 'model.test_cfg.score_thr=0.0')
    assert code == 0, err
    raw = np.load(tmp_path / 'out/a.npz')
    assert raw['maps'].shape == (2, 100, 140) and raw['boxes'].shape == (2, 4)
    assert len(list((tmp_path / 'out').glob('a_box*.jpg'))) == 2
    assert 'wrote 3 pictures for 1 image to' in err  # the combined one and one per box


@requires_shared
def test_dog_map_peaks_inside_the_dog_box(tmp_path):
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.models.detector import ModelRunner
    runner = ModelRunner('mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py',
                         str(SHARED / 'yolov5_n-v61_coco.pth'), 'cpu')
    res = BoxAM(runner, 'gradcam', classes=['dog']).run(read_image(str(SHARED / 'dog.jpg')))
    assert len(res.boxes) == 1
    x1, y1, x2, y2 = res.boxes[0]
    assert np.allclose(res.boxes[0], [133, 215, 313, 546], atol=2)
    y, x = np.unravel_index(res.maps[0].argmax(), res.maps[0].shape)
    assert x1 <= x <= x2 and y1 <= y <= y2
