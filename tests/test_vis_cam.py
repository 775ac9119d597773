"""vis_cam.py (class activation maps of MMPretrain classifiers): mechanics on the project's classifier configs
with random weights, and every bad input."""
import cv2
import numpy as np
import pytest
import torch

from conftest import ROOT, make_image, run_cli

CNN = str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py')
VIT = str(ROOT / 'configs/classifiers/vit_tiny_shapes.py')


@pytest.fixture(scope='module')
def cnn():
    from mmyolo_vis.models.classifier import ClassifierRunner
    torch.manual_seed(0)
    return ClassifierRunner(CNN, None, 'cpu')


@pytest.fixture(scope='module')
def vit():
    from mmyolo_vis.models.classifier import ClassifierRunner
    torch.manual_seed(0)
    return ClassifierRunner(VIT, None, 'cpu')


@pytest.fixture(scope='module')
def random_checkpoints(tmp_path_factory, cnn, vit):
    folder = tmp_path_factory.mktemp('cls_ckpt')
    for name, runner in (('cnn', cnn), ('vit', vit)):
        torch.save(dict(state_dict=runner.model.state_dict(),
                        meta=dict(dataset_meta=dict(classes=['circle', 'square', 'star', 'triangle']))),
                   folder / f'{name}.pth')
    return {'cnn': str(folder / 'cnn.pth'), 'vit': str(folder / 'vit.pth')}


def test_method_names_any_case():
    from mmyolo_vis.classification.methods import method_name
    from mmyolo_vis.core.errors import UserError
    assert method_name('GradCAM') == 'gradcam' and method_name('GradCAMPlusPlus') == 'gradcam++'
    assert method_name('EigenGradCAM') == 'eigengradcam' and method_name('LayerCAM') == 'layercam'
    with pytest.raises(UserError, match="--method 'magiccam'"):
        method_name('magiccam')


def test_default_layers(cnn, vit):
    from mmyolo_vis.classification.cam import default_target_layer, is_vit_like
    assert default_target_layer(cnn.model, False) == 'backbone.layer4[1]'  # the last block's output (issue 20)
    assert is_vit_like(vit.model.backbone) and not is_vit_like(cnn.model.backbone)
    assert default_target_layer(vit.model, True) == 'backbone.layers[3].ln1'


def test_crop_is_undone_and_the_cut_part_gets_no_map(cnn):
    """ResizeEdge(72, short) then CenterCrop(64) on a 200x100 picture: scale 0.72, the 144x72 resize cropped
    at x 40, y 4. Input pixel (i, j) came from original ((j + 40.5) / 0.72 - 0.5, (i + 4.5) / 0.72 - 0.5)."""
    image = np.random.default_rng(0).integers(0, 255, (100, 200, 3), dtype=np.uint8)
    inputs, meta = cnn.prepare(image)
    assert tuple(inputs.shape) == (1, 3, 64, 64)
    assert meta.ax == pytest.approx(1 / 0.72, rel=1e-3) and meta.bx == pytest.approx(40.5 / 0.72 - 0.5, abs=0.05)
    assert meta.ay == pytest.approx(1 / 0.72, rel=1e-3) and meta.by == pytest.approx(4.5 / 0.72 - 0.5, abs=0.05)
    cam = np.zeros((64, 64), np.float32)
    cam[30:34, 10:14] = 1  # a hot spot at input rows 30-33, columns 10-13
    placed, inside = meta.place(cam)
    assert placed.shape == inside.shape == (100, 200)
    cols = np.nonzero(inside.any(0))[0]
    rows = np.nonzero(inside.any(1))[0]
    assert abs(cols[0] - 56) <= 1 and abs(cols[-1] - 144) <= 1  # the crop's columns, the rest has no map
    assert abs(rows[0] - 6) <= 1 and abs(rows[-1] - 94) <= 1
    ys, xs = np.nonzero(placed > 0.5)
    assert abs(xs.mean() - ((12 + 40) / 0.72 - 0.5)) < 1.5 and abs(ys.mean() - ((32 + 4) / 0.72 - 0.5)) < 1.5


@pytest.mark.parametrize('model', ['cnn', 'vit'])
@pytest.mark.parametrize('method', ['gradcam', 'gradcam++', 'xgradcam', 'eigencam', 'eigengradcam', 'layercam',
                                    'hirescam', 'ablationcam'])
def test_every_method_gives_finite_maps_of_the_image_size(request, model, method):
    from mmyolo_vis.classification.cam import ClassifierCAM
    runner = request.getfixturevalue(model)
    image = np.random.default_rng(1).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    maps = ClassifierCAM(runner, method, batch_size=64).run(image, [0, 2])
    assert [m.category for m in maps] == [0, 2]
    for m in maps:
        assert m.cam.shape == m.inside.shape == (90, 120)
        assert np.isfinite(m.cam).all() and m.cam.min() >= 0 and m.cam.max() <= 1
        assert not m.cam[~m.inside].any()  # outside the crop: no map
        assert 0 <= m.probability <= 1


def test_vit_tokens_become_a_grid_and_a_wrong_count_is_one_error(vit):
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.core.errors import UserError
    image = np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    cam = ClassifierCAM(vit, 'gradcam')
    assert cam.vit_like and cam.num_extra_tokens == 1
    with pytest.raises(UserError, match='65 tokens less 0 extra tokens leaves 65, not a square grid'):
        ClassifierCAM(vit, 'gradcam', num_extra_tokens=0).run(image)


def test_vit_last_block_output_has_no_gradient(vit):
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.core.errors import UserError
    image = np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    with pytest.raises(UserError, match=r'zero gradient .* pick backbone.layers\[3\].ln1'):
        ClassifierCAM(vit, 'gradcam', ['backbone.layers[-1]']).run(image)


def test_packaged_mmpretrain_config_builds():
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.models.classifier import ClassifierRunner
    runner = ClassifierRunner('mmpretrain::resnet/resnet18_8xb32_in1k.py', None, 'cpu')
    assert len(runner.classes) == 1000
    image = np.random.default_rng(3).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    maps = ClassifierCAM(runner, 'gradcam').run(image)
    assert maps[0].cam.shape == (300, 400)
    assert ClassifierCAM(runner, 'gradcam').layer_names == ['backbone.layer4[1]']


# ------------------------------------------------------------------ the command line
def vis_cam(capsys, *argv):
    from mmyolo_vis.apps.vis_cam import cli
    return run_cli(cli, capsys, *argv)


def test_cli_writes_one_panel_per_category(capsys, tmp_path, random_checkpoints):
    img = make_image(tmp_path / 'a.jpg', 120, 90)
    code, _, err = vis_cam(capsys, img, CNN, random_checkpoints['cnn'], '--device', 'cpu', '--method', 'LayerCAM',
                           '--target-category', 'circle', '3', '--save-path', tmp_path / 'cam.png')
    assert code == 0, err
    pic = cv2.imread(str(tmp_path / 'cam.png'))
    assert pic.shape[1] > 2 * 120 and pic.shape[0] < 2 * 90 + 80  # two panels side by side


@pytest.mark.parametrize('case, extra, message', [
    ('missing image', ['IMG=nope.jpg'], 'nope.jpg: no such file or folder'),
    ('bad checkpoint', ['CKPT=text'], 'not a checkpoint'),
    ('bad config', ['CFG=nope.py'], 'nope.py: config file not found'),
    ('unknown layer', ['--target-layers', 'backbone.layer9'], "unknown layer 'backbone.layer9'"),
    ('unknown category', ['--target-category', 'hexagon'], "--target-category 'hexagon': not a class"),
    ('category out of range', ['--target-category', '7'], 'this model has classes 0..3'),
    ('bad method', ['--method', 'magiccam'], "--method 'magiccam'"),
    ('bad alpha', ['--alpha', '3'], '--alpha 3.0: use a value between 0 and 1'),
    ('out path under a file', ['OUT=file/x.png'], 'cannot create the output folder'),
])
def test_cli_bad_input(capsys, tmp_path, random_checkpoints, case, extra, message):
    img = make_image(tmp_path / 'a.jpg', 120, 90)
    (tmp_path / 'file').write_text('x')
    (tmp_path / 'text.pth').write_text('not weights')
    args = {'IMG': img, 'CFG': CNN, 'CKPT': random_checkpoints['cnn'], 'OUT': tmp_path / 'out.png'}
    rest = []
    for e in extra:
        if '=' in e and e.split('=')[0] in args:
            key, value = e.split('=')
            args[key] = tmp_path / value if key != 'CFG' else value
            if key == 'CKPT':
                args[key] = tmp_path / 'text.pth'
        else:
            rest.append(e)
    code, _, err = vis_cam(capsys, args['IMG'], args['CFG'], args['CKPT'], '--device', 'cpu',
                           '--save-path', args['OUT'], *rest)
    assert code == 2, (case, err)
    assert message in err, err
    assert err.strip().count('\n') == 0 and err.startswith('error: ')
