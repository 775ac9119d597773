"""The feature-map demo end to end on a tiny random YOLOv5: outputs, naming and every bad input."""
import argparse

import cv2
import numpy as np
import pytest
import torch

from conftest import TINY_CONFIG, make_image, run_cli
from mmyolo_vis.apps.featmap import cli


def run(capsys, *argv):
    return run_cli(cli, capsys, *argv)


@pytest.fixture
def base(tiny_checkpoint, tmp_path):
    def args(*imgs, out=None):
        return [*imgs, TINY_CONFIG, tiny_checkpoint, '--device', 'cpu', '--out-dir', out or tmp_path / 'out']
    return args


def test_folder_run_mirrors_tree_and_never_collides(capsys, base, tmp_path):
    make_image(tmp_path / 'in/x/a.jpg', 200, 120)
    make_image(tmp_path / 'in/y/a.jpg', 120, 200)
    make_image(tmp_path / 'in/gray.png', 90, 60, channels=1)
    make_image(tmp_path / 'in/rgba.png', 90, 60, channels=4)
    make_image(tmp_path / 'in/deep.png', 90, 60, dtype=np.uint16)
    code, _, err = run(capsys, *base(tmp_path / 'in'), '--target-layers', 'neck', '--save-raw')
    assert code == 0, err
    out = tmp_path / 'out'
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file())
    assert written == ['deep.npz', 'deep.png', 'gray.npz', 'gray.png', 'rgba.npz', 'rgba.png',
                       'x/a.jpg', 'x/a.npz', 'y/a.jpg', 'y/a.npz']
    raw = np.load(out / 'x/a.npz')
    assert sorted(raw.files) == ['neck[0]', 'neck[1]', 'neck[2]']
    assert raw['neck[0]'].shape[1:] == (20, 20)  # 160 px input, stride 8
    # three panels (neck returns three maps) side by side, each the image's aspect ratio
    pic = cv2.imread(str(out / 'x/a.jpg'))
    assert pic.shape[1] > 3 * 200 and pic.shape[0] < 2 * 120 + 60


def test_out_file_and_outputs_never_overwrite_inputs(capsys, base, tmp_path):
    img = make_image(tmp_path / 'in/a.jpg')
    before = open(img, 'rb').read()
    code, _, err = run(capsys, *base(img, out=tmp_path / 'in'))
    assert code == 2 and 'would overwrite an input image' in err
    assert open(img, 'rb').read() == before
    code, _, err = run(capsys, *base(img), '--out-file', tmp_path / 'one.png')
    assert code == 0 and (tmp_path / 'one.png').is_file()


def test_bad_file_in_folder_is_skipped_and_reported(capsys, base, tmp_path):
    make_image(tmp_path / 'in/good.jpg')
    (tmp_path / 'in/broken.jpg').write_bytes(b'not a jpeg at all')
    code, _, err = run(capsys, *base(tmp_path / 'in'))
    assert code == 1
    assert 'broken.jpg: not a readable image' in err
    assert (tmp_path / 'out/good.jpg').is_file() and not (tmp_path / 'out/broken.jpg').exists()


@pytest.mark.parametrize('case, extra, message', [
    ('missing file', [], 'nope.jpg: no such file or folder'),
    ('unknown layer', ['--target-layers', 'backbone.stage9'], "unknown layer 'backbone.stage9'; closest names:"),
    ('bad arrangement', ['--channel-reduction', 'None', '--topk', '6', '--arrangement', '2', '2'],
     'has 4 places for --topk 6'),
    ('zero arrangement', ['--arrangement', '0', '3'], 'rows and columns must be at least 1'),
    ('bad reduction', ['--channel-reduction', 'mean'], "--channel-reduction 'mean': use squeeze_mean"),
    ('topk -1 without reduction', ['--channel-reduction', 'None', '--topk', '-1'], 'set --channel-reduction'),
    ('bad layer syntax', ['--target-layers', '__import__("os").system("x")'], 'bad layer name'),
])
def test_bad_arguments(capsys, base, tmp_path, case, extra, message):
    img = make_image(tmp_path / 'a.jpg') if case != 'missing file' else tmp_path / 'nope.jpg'
    code, _, err = run(capsys, *base(img), *extra)
    assert code == 2, case
    assert message in err, err
    assert err.count('\n') == 1 and err.startswith('error: ')


def test_empty_folder_and_corrupt_single_image(capsys, base, tmp_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty/notes.txt').write_text('x')
    code, _, err = run(capsys, *base(tmp_path / 'empty'))
    assert code == 2 and 'the folder holds no images' in err
    (tmp_path / 'bad.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    code, _, err = run(capsys, *base(tmp_path / 'bad.png'))
    assert code == 1 and 'bad.png: not a readable image' in err


def test_checkpoint_problems(capsys, tmp_path, tiny_runner):
    img = make_image(tmp_path / 'a.jpg')
    common = ['--device', 'cpu', '--out-dir', tmp_path / 'out']
    code, _, err = run(capsys, img, TINY_CONFIG, tmp_path / 'missing.pth', *common)
    assert code == 2 and 'missing.pth: checkpoint not found' in err
    # a checkpoint of another model: the head has 80 classes instead of 3
    from mmyolo_vis.models.detector import ModelRunner
    other = ModelRunner(TINY_CONFIG, None, 'cpu', {'model.bbox_head.head_module.num_classes': 80})
    torch.save({'state_dict': other.model.state_dict()}, tmp_path / 'other.pth')
    code, _, err = run(capsys, img, TINY_CONFIG, tmp_path / 'other.pth', *common)
    assert code == 2 and 'checkpoint does not fit this model' in err and 'differ in shape' in err
    # a checkpoint holding arbitrary pickled objects is refused unless trusted
    torch.save({'state_dict': tiny_runner.model.state_dict(), 'meta': {'obj': argparse.Namespace(x=1)}}, tmp_path / 'pickled.pth')
    code, _, err = run(capsys, img, TINY_CONFIG, tmp_path / 'pickled.pth', *common)
    assert code == 2 and '--trust-checkpoint' in err
    code, _, err = run(capsys, img, TINY_CONFIG, tmp_path / 'pickled.pth', *common, '--trust-checkpoint')
    assert code == 0, err
    (tmp_path / 'junk.pth').write_bytes(b'junk')
    code, _, err = run(capsys, img, TINY_CONFIG, tmp_path / 'junk.pth', *common)
    assert code == 2 and 'junk.pth: not a checkpoint' in err and '--trust-checkpoint' not in err
    good = (tmp_path / 'pickled.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(good[:len(good) // 2])  # a torch zip archive cut short
    code, _, err = run(capsys, img, TINY_CONFIG, tmp_path / 'cut.pth', *common)
    assert code == 2 and 'cut.pth: not a readable checkpoint' in err and '--trust-checkpoint' not in err


def test_missing_keys_reported_in_one_line(capsys, tmp_path, tiny_runner):
    img = make_image(tmp_path / 'a.jpg')
    sd = {k: v for k, v in tiny_runner.model.state_dict().items() if not k.startswith('bbox_head')}
    sd['extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': sd}, tmp_path / 'partial.pth')
    code, _, err = run(capsys, img, TINY_CONFIG, tmp_path / 'partial.pth', '--device', 'cpu',
                       '--out-dir', tmp_path / 'out')
    assert code == 0
    lines = [l for l in err.splitlines() if 'keys missing' in l]
    assert len(lines) == 1 and '6 keys missing' in lines[0] and '1 unexpected (extra.weight)' in lines[0]


def test_unwritable_out_dir(capsys, base, tmp_path):
    img = make_image(tmp_path / 'a.jpg')
    (tmp_path / 'file').write_text('x')
    code, _, err = run(capsys, *base(img, out=tmp_path / 'file/sub'))
    assert code == 2 and 'cannot create the output folder' in err


def test_cuda_without_gpu(capsys, base, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    img = make_image(tmp_path / 'a.jpg')
    code, _, err = run(capsys, *base(img)[:-4], '--device', 'cuda:0')
    assert code == 2 and 'no CUDA device is available here; use --device cpu' in err


def test_preview_model_lists_names_and_shapes(capsys, base, tmp_path):
    img = make_image(tmp_path / 'a.jpg')
    code, out, _ = run(capsys, *base(img), '--preview-model')
    assert code == 0
    line = next(l for l in out.splitlines() if l.rstrip().endswith(' backbone.stage4'))
    assert '(1, 128, 5, 5)' in line  # 160 px input, stride 32, 1024*0.125 channels
    assert any(l.rstrip().endswith('neck.out_layers.2') for l in out.splitlines())
    assert not (tmp_path / 'out').exists()


def test_topk_panels_per_layer(capsys, base, tmp_path):
    img = make_image(tmp_path / 'a.jpg', 100, 100)
    code, _, err = run(capsys, *base(img), '--target-layers', 'backbone.stage4', 'backbone.stage3',
                       '--channel-reduction', 'None', '--topk', '3', '--arrangement', '1', '3')
    assert code == 0, err
    pic = cv2.imread(str(tmp_path / 'out/a.jpg'))
    # two layers x (1 row x 3 cols) of 100x100 panels under a 26 px title band, 6 px gaps
    assert pic.shape[:2] == (2 * (100 + 26 + 6) + 6, 3 * (100 + 6) + 6)
