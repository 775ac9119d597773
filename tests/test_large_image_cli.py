"""The large-image demo end to end on a tiny random YOLOv5: outputs, options and bad input."""
import json

import cv2
import pytest

from conftest import TINY_CONFIG, make_image, run_cli
from mmyolo_vis.apps.large_image import cli


def run(capsys, *argv):
    code, _, err = run_cli(cli, capsys, *argv)
    return code, err


@pytest.fixture
def base(tiny_checkpoint, tmp_path):
    return lambda *imgs: [*imgs, TINY_CONFIG, tiny_checkpoint, '--device', 'cpu', '--out-dir', tmp_path / 'out',
                          '--score-thr', '0.0']


def test_outputs_debug_patches_and_json(capsys, base, tmp_path):
    img = make_image(tmp_path / 'in/scene.png', 500, 300)
    code, err = run(capsys, *base(img), '--patch-size', '160', '--batch-size', '4', '--debug', '--save-patch',
                    '--export-json', '--full-image', '--merge-nms-type', 'greedy_nmm', '--merge-metric', 'ios')
    assert code == 0, err
    out = tmp_path / 'out'
    assert cv2.imread(str(out / 'scene.png')).shape == (300, 500, 3)
    assert cv2.imread(str(out / 'scene_debug.png')).shape == (300, 500, 3)
    patches = sorted((out / 'scene_patches').iterdir())
    from mmyolo_vis.large.sliced import slice_grid
    assert len(patches) == len(slice_grid(300, 500, 160, 0.25)) == 12
    assert all(cv2.imread(str(p)).shape == (160, 160, 3) for p in patches)
    results = json.loads((out / 'scene.json').read_text())
    for r in results:
        x, y, w, h = r['bbox']
        assert 0 <= x and 0 <= y and x + w <= 500.01 and y + h <= 300.01 and 1 <= r['category_id'] <= 3
    assert 'boxes before merging' in err
    assert 'wrote 14 pictures for 1 image' in err  # picture, debug picture, 12 patches


def test_small_image_runs_as_one_patch(capsys, base, tmp_path):
    img = make_image(tmp_path / 'small.jpg', 100, 80)
    code, err = run(capsys, *base(img), '--patch-size', '640')
    assert code == 0 and 'smaller than --patch-size 640: it runs as one patch' in err
    assert '1 patches' in err


@pytest.mark.parametrize('extra, message', [
    (['--patch-overlap-ratio', '1.0'], '--patch-overlap-ratio 1.0: use a value in [0, 1)'),
    (['--patch-overlap-ratio', '-0.1'], 'use a value in [0, 1)'),
    (['--batch-size', '0'], 'must be positive'),
    (['--merge-nms-type', 'soft_nms', '--merge-metric', 'ios'], 'soft_nms works with --merge-metric iou only'),
])
def test_bad_settings(capsys, base, tmp_path, extra, message):
    img = make_image(tmp_path / 'a.jpg')
    code, err = run(capsys, *base(img), *extra)
    assert code == 2 and message in err and err.startswith('error: ')


def test_bad_files_are_reported_and_skipped(capsys, base, tmp_path):
    make_image(tmp_path / 'in/good.jpg', 200, 150)
    (tmp_path / 'in/bad.tif').write_bytes(b'II*\x00 not a tiff')
    (tmp_path / 'in/empty.png').write_bytes(b'')
    code, err = run(capsys, *base(tmp_path / 'in'), '--patch-size', '160')
    assert code == 1
    assert 'bad.tif: not a readable TIFF' in err and 'empty.png: the file is empty' in err
    assert (tmp_path / 'out/good.jpg').is_file()
