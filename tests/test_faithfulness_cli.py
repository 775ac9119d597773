"""--metrics in eval_boxam.py / eval_cls_cam.py and --faithfulness in the demos (issue 22)."""
import json
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

SHAPES_CONFIG = str(ROOT / 'configs/yolov5/yolov5_n_shapes.py')
SHAPES_CKPT = str(ROOT / 'checkpoints/yolov5_n_shapes.pth')
FAST = ['--steps', '10', '--every', '5']  # 3 points a curve: the default protocol (100 / 10) is tested in test_faithfulness


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    from mmyolo_vis.datasets.shapes import generate_split
    root = tmp_path_factory.mktemp('faith_cli') / 'shapes'
    generate_split(root, 'val', 1, seed=5, size_range=(256, 320))
    return root


def eval_boxam(capsys, *argv):
    from mmyolo_vis.apps.eval_boxam import cli
    return run_cli(cli, capsys, SHAPES_CONFIG, SHAPES_CKPT, *argv)


def test_eval_boxam_metrics_give_columns_fields_and_baselines(capsys, shapes_root, tmp_path):
    out = tmp_path / 'e.json'
    code, stdout, err = eval_boxam(capsys, '--methods', 'hirescam', '--metrics', 'deletion', 'insertion', *FAST,
                                   '--cfg-options', f'test_dataloader.dataset.data_root={shapes_root}/',
                                   '--out-file', out)
    assert code == 0, err
    header = next(line for line in stdout.splitlines() if line.startswith('method'))
    assert 'deletion' in header and 'insertion' in header and 'pointing' not in header and 'road' not in header
    table = json.loads(out.read_text())
    assert table['fractions'] == [0.0, 0.5, 1.0] and table['metrics'] == ['deletion', 'insertion']
    rows = {r['method']: r for r in table['results']}
    assert list(rows) == ['hirescam', 'random (baseline)', 'box (baseline)', 'gaussian (baseline)']
    boxes = rows['hirescam']['boxes']
    assert boxes > 0 and all(r['boxes'] == boxes for r in rows.values())  # the baselines on the same boxes
    for r in rows.values():
        assert 'pointing_game' not in r and 'road' not in r
        assert r['deletion_curve'][0] == pytest.approx(1.0) and len(r['insertion_curve']) == 3
        assert 0 <= r['insertion_auc'] <= 1.5
    # the shipped detector depends on its box's pixels: hirescam beats the random map on both curves
    assert rows['hirescam']['deletion_auc'] < rows['random (baseline)']['deletion_auc']
    assert rows['hirescam']['insertion_auc'] > rows['random (baseline)']['insertion_auc']
    assert rows['hirescam']['verdict'] == 'informative' and rows['hirescam']['seconds_per_box'] > 0


def test_bad_metrics_and_protocol_are_one_line(capsys, tmp_path):
    code, _, err = eval_boxam(capsys, '--metrics', 'pointing', 'faith')
    assert code == 2 and '--metrics faith' in err and len(err.strip().splitlines()) == 1
    code, _, err = eval_boxam(capsys, '--metrics', 'deletion', '--steps', '100', '--every', '7')
    assert code == 2 and '--every 7' in err


def test_boxam_demo_faithfulness_of_several_methods(capsys, tiny_checkpoint, tmp_path):
    from conftest import TINY_CONFIG, make_image
    from mmyolo_vis.apps.boxam import cli
    img = make_image(tmp_path / 'scene.jpg', 200, 120, seed=4)
    code, _, err = run_cli(cli, capsys, img, TINY_CONFIG, tiny_checkpoint, '--device', 'cpu', '--out-dir', tmp_path / 'out',
                           '--score-thr', '0', '--topk', '2', '--method', 'hirescam', 'drise', '--num-masks', '8',
                           '--faithfulness', 'deletion', 'insertion', 'road', '--road-percentiles', '50', *FAST)
    assert code == 0, err
    assert err.count('(random map: del ') == 2  # one summary line per method
    report = json.loads((tmp_path / 'out/scene_faithfulness.json').read_text())
    assert report['fractions'] == [0.0, 0.5, 1.0] and report['road_percentiles'] == [50]
    assert len(report['boxes']) == 2
    for box in report['boxes']:
        assert set(box['methods']) == {'hirescam', 'drise'} and set(box['baselines']) == {'random', 'box', 'gaussian'}
        for one in [*box['methods'].values(), *box['baselines'].values()]:
            assert len(one['deletion']) == 3 and one['deletion'][0] == pytest.approx(1.0)
            assert {'deletion_auc', 'insertion_auc', 'road'} <= set(one)
    assert set(report['mean']) == {'hirescam', 'drise', 'random', 'box', 'gaussian'}
    assert report['mean']['hirescam']['verdict'] in ('informative', 'partly', 'no better than random')
    import cv2
    picture = cv2.imread(str(tmp_path / 'out/scene.jpg'))
    assert picture.shape[0] > 2 * 120 and picture.shape[1] > 2 * 200 * 0.5  # 2 methods x 2 boxes of panels


CNN = (str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py'), str(ROOT / 'checkpoints/resnet18_tiny_shapes.pth'))


@pytest.fixture(scope='module')
def cls_root(tmp_path_factory):
    from mmyolo_vis.datasets.shapes import generate_classification_split
    root = tmp_path_factory.mktemp('faith_cls')
    generate_classification_split(root, 'val', 4, seed=12)
    return root


def test_eval_cls_cam_metrics(capsys, cls_root, tmp_path):
    from mmyolo_vis.apps.eval_cls_cam import cli
    out = tmp_path / 'c.json'
    code, stdout, err = run_cli(cli, capsys, *CNN, '--data-root', cls_root, '--methods', 'hirescam', '--metrics',
                                'pointing', 'deletion', 'insertion', 'road', '--road-percentiles', '50',
                                '--out-file', out)  # the default protocol: 64 px pictures are cheap
    assert code == 0, err
    header = next(line for line in stdout.splitlines() if line.startswith('method'))
    assert all(w in header for w in ('pointing', 'deletion', 'insertion', 'road', 'verdict')) and 'energy' not in header
    rows = {r['method']: r for r in json.loads(out.read_text())}
    assert list(rows) == ['hirescam', 'random (baseline)', 'box (baseline)', 'gaussian (baseline)']
    for r in rows.values():
        assert r['images'] == 4 and len(r['deletion_curve']) == 11 and r['deletion_curve'][0] == pytest.approx(1.0)
        assert r['road'] is not None
    # the shipped CNN is sure of its shapes and depends on them: hirescam beats the random map
    assert rows['hirescam']['deletion_auc'] < rows['random (baseline)']['deletion_auc']
    assert rows['hirescam']['insertion_auc'] > rows['random (baseline)']['insertion_auc']
    assert rows['hirescam']['seconds_per_image'] > 0


def test_vis_cam_faithfulness(capsys, tmp_path):
    from mmyolo_vis.apps.vis_cam import cli
    save = tmp_path / 'two.jpg'
    code, _, err = run_cli(cli, capsys, ROOT / 'demo/shapes_two.jpg', *CNN, '--method', 'GradCAM', 'HiResCAM',
                           '--target-category', 'circle', 'star', '--faithfulness', '--save-path', save)
    assert code == 0, err
    report = json.loads((tmp_path / 'two_faithfulness.json').read_text())
    circle, star = report['categories']
    assert circle['name'] == 'circle' and circle['probability'] > 0.9 and star['probability'] < 1e-3
    for name in ('gradcam', 'hirescam'):
        one = circle['methods'][name]
        assert len(one['deletion']) == 11 and one['deletion'][0] == pytest.approx(1.0)
        # the CNN is sure of the circle: its maps beat the random map on both curves
        assert one['deletion_auc'] < circle['baselines']['random']['deletion_auc']
        assert one['insertion_auc'] > circle['baselines']['random']['insertion_auc']
        assert one['verdict'] == 'informative'
        assert star['methods'][name]['deletion'] is None  # p = 0.00: nothing to lose, no made-up ratio
    assert 'hirescam circle, del 0.' in err
