"""Bad input and output names across the scripts (issue 13's recipes, each built here): one line on stderr,
a non-zero exit, nothing lost, nothing overwritten."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from conftest import ROOT, TINY_CONFIG, make_image, run_cli


def demo_cli(name):
    from mmyolo_vis.apps import boxam as boxam_app, featmap as featmap_app, large_image as large_image_app
    return {'featmap': featmap_app.cli, 'boxam': boxam_app.cli, 'large': large_image_app.cli}[name]


def tool_main(name):
    """A tools/analysis_tools script's main, wrapped as its __main__ does."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, ROOT / 'tools/analysis_tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from mmyolo_vis.apps.cli import run_main
    return lambda argv: run_main(lambda: module.main([str(a) for a in argv]))


@pytest.fixture
def base(tiny_checkpoint, tmp_path):
    def args(*imgs, out=None, ckpt=None):
        return [*imgs, TINY_CONFIG, ckpt or tiny_checkpoint, '--device', 'cpu', '--out-dir', out or tmp_path / 'out']
    return args


def written(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file())


# ------------------------------------------------------------------ 1. images too thin for the model
@pytest.mark.parametrize('demo', ['featmap', 'boxam'])
def test_too_thin_image_is_skipped_and_the_folder_goes_on(capsys, base, tmp_path, demo):
    (tmp_path / 'in').mkdir()
    cv2.imwrite(str(tmp_path / 'in/a_thin.png'), np.zeros((1, 20000, 3), np.uint8))
    make_image(tmp_path / 'in/b_good.jpg', 200, 120)
    code, _, err = run_cli(demo_cli(demo), capsys, *base(tmp_path / 'in'))
    assert code == 1, err
    lines = [l for l in err.splitlines() if 'too thin' in l]
    assert len(lines) == 1 and 'a_thin.png: 20000x1 is too thin for the model' in lines[0]
    assert lines[0].endswith('(skipped)')
    assert written(tmp_path / 'out') == ['b_good.jpg']


def test_thin_image_is_sliced_like_any_other(capsys, base, tmp_path):
    """Sliced inference feeds the model patches, never the whole strip: a 1x20000 picture is patches of
    160x1 for the tiny model's 160 px input and a 1-pixel-high picture (4096 px wide: it is written
    downscaled), not a crash; with patches larger than the input, too thin, it is skipped by name."""
    (tmp_path / 'in').mkdir()
    cv2.imwrite(str(tmp_path / 'in/a_thin.png'), np.zeros((1, 20000, 3), np.uint8))
    make_image(tmp_path / 'in/b_good.jpg', 200, 120)
    code, _, err = run_cli(demo_cli('large'), capsys, *base(tmp_path / 'in'), '--patch-size', '160')
    assert code == 0, err
    assert written(tmp_path / 'out') == ['a_thin.png', 'b_good.jpg']
    assert cv2.imread(str(tmp_path / 'out/a_thin.png')).shape == (1, 4096, 3)
    code, _, err = run_cli(demo_cli('large'), capsys, *base(tmp_path / 'in', out=tmp_path / 'o2'), '--patch-size', '320')
    assert code == 1 and 'a_thin.png: 320x1 is too thin for the model' in err
    assert written(tmp_path / 'o2') == ['b_good.jpg']


# ------------------------------------------------------------------ 2. output names never collide
def test_plan_outputs_keeps_every_name_apart():
    from mmyolo_vis.core.outputs import plan_outputs
    plans = plan_outputs(['a.jpg', 'a.png', 'a_debug.jpg', 'b.tif', 'b.png'], 'o', ('json', 'npz', 'debug'))
    pictures = [p.picture for p in plans]
    assert pictures == ['o/a.jpg', 'o/a.png', 'o/a_debug.jpg', 'o/b.png', 'o/b_png.png']
    every = pictures + [n for p in plans for n in (p.json, p.npz, p.debug)]
    assert len(set(every)) == len(every)
    assert plans[0].json == 'o/a_jpg.json' and plans[1].json == 'o/a_png.json'  # the source extension kept
    assert plans[2].debug == 'o/a_debug_debug.jpg'
    # without side outputs, names stay plain
    assert [p.stem for p in plan_outputs(['a.jpg', 'a_debug.jpg'], 'o')] == ['o/a', 'o/a_debug']
    # per-box names of one input never meet another input's picture
    plans = plan_outputs(['a.jpg', 'a_box0_circle.jpg'], 'o', ('box',))
    assert plans[0].box(0, 'circle') != plans[1].picture


def test_large_image_debug_and_json_names_do_not_collide(capsys, base, tmp_path):
    make_image(tmp_path / 'in/a.jpg', 300, 200, seed=1)
    make_image(tmp_path / 'in/a_debug.jpg', 300, 200, seed=2)
    make_image(tmp_path / 'in/a.png', 300, 200, seed=3)
    code, _, err = run_cli(demo_cli('large'), capsys, *base(tmp_path / 'in'), '--patch-size', '160', '--debug',
                           '--export-json', '--score-thr', '0')
    assert code == 0, err
    out = tmp_path / 'out'
    files = written(out)
    assert len(files) == 9, files  # 3 pictures, 3 debug pictures, 3 json
    assert 'wrote 6 pictures for 3 images' in err
    assert {'a.jpg', 'a_debug.jpg', 'a.png'} <= set(files)
    assert len([f for f in files if f.endswith('.json')]) == 3


def test_featmap_raw_tensors_of_same_stem_do_not_collide(capsys, base, tmp_path):
    make_image(tmp_path / 'in/a.jpg', 200, 120, seed=1)
    make_image(tmp_path / 'in/a.png', 120, 200, seed=2)
    code, _, err = run_cli(demo_cli('featmap'), capsys, *base(tmp_path / 'in'), '--save-raw')
    assert code == 0, err
    assert written(tmp_path / 'out') == ['a.jpg', 'a.png', 'a_jpg.npz', 'a_png.npz']
    # each npz holds its own image's maps (the inputs differ in shape, so the maps do)
    a, b = (np.load(tmp_path / f'out/{n}')['backbone[2]'] for n in ('a_jpg.npz', 'a_png.npz'))
    assert a.shape == b.shape and not np.array_equal(a, b)


# ------------------------------------------------------------------ 3. decompression bombs
def png_header_only(path, width, height):
    """A PNG that declares width x height (its data is a stub): only the header can be read."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'\x00' * 64))
                     + chunk(b'IEND', b''))


@pytest.mark.parametrize('demo', ['featmap', 'boxam', 'large'])
def test_huge_picture_refused_from_its_header(capsys, base, tmp_path, demo):
    (tmp_path / 'in').mkdir()
    png_header_only(tmp_path / 'in/bomb.png', 30000, 30000)
    make_image(tmp_path / 'in/good.jpg', 200, 120)
    extra = ['--patch-size', '160'] if demo == 'large' else []
    code, _, err = run_cli(demo_cli(demo), capsys, *base(tmp_path / 'in'), *extra)
    assert code == 1
    line = [l for l in err.splitlines() if 'bomb.png' in l]
    assert len(line) == 1 and '30000x30000 is 900 MP, above the limit of 100 MP' in line[0]
    assert '--max-pixels' in line[0]
    assert ('tiled TIFF' in line[0]) == (demo == 'large')
    assert (tmp_path / 'out/good.jpg').is_file()


def test_max_pixels_limit_can_be_raised_and_lowered(capsys, base, tmp_path):
    img = make_image(tmp_path / 'a.jpg', 200, 120)
    code, _, err = run_cli(demo_cli('featmap'), capsys, *base(img), '--max-pixels', '10000')
    assert code == 1 and '200x120 is 0.024 MP, above the limit of 0.01 MP' in err
    code, _, err = run_cli(demo_cli('featmap'), capsys, *base(img), '--max-pixels', '24000')
    assert code == 0, err
    code, _, err = run_cli(demo_cli('featmap'), capsys, *base(img), '--max-pixels', '0')
    assert code == 2 and '--max-pixels 0: must be positive' in err


# ------------------------------------------------------------------ 4. tracebacks become one line
@pytest.mark.parametrize('demo', ['featmap', 'boxam', 'large'])
def test_cfg_options_without_equals(capsys, base, tmp_path, demo):
    with pytest.raises(SystemExit) as e:
        demo_cli(demo)([str(a) for a in base(make_image(tmp_path / 'a.jpg'))] + ['--cfg-options', 'foo'])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --cfg-options: 'foo' is not key=value" in err and 'Traceback' not in err


@pytest.mark.parametrize('tool, argv', [
    ('browse_dataset', ['CFG', '--out-dir', 'OUT', '--not-show']),
    ('vis_scheduler', ['CFG', '--dataset-size', '10', '--not-show']),
    ('eval_boxam', ['CFG', 'CKPT']),
])
def test_tools_refuse_cfg_options_without_equals(capsys, tmp_path, tiny_checkpoint, tool, argv):
    argv = [str(tmp_path) if a == 'OUT' else TINY_CONFIG if a == 'CFG' else tiny_checkpoint if a == 'CKPT' else a
            for a in argv]
    with pytest.raises(SystemExit) as e:
        tool_main(tool)(argv + ['--cfg-options', 'foo'])
    assert e.value.code == 2 and "'foo' is not key=value" in capsys.readouterr().err


SHAPES_CONFIG = str(ROOT / 'configs/yolov5/yolov5_n_shapes.py')
SHAPES_CKPT = str(ROOT / 'checkpoints/yolov5_n_shapes.pth')


def test_eval_boxam_without_data_and_with_a_bad_out_file(capsys, tmp_path):
    code, _, err = run_cli(tool_main('eval_boxam'), capsys, SHAPES_CONFIG, SHAPES_CKPT, '--cfg-options',
                           f'test_dataloader.dataset.data_root={tmp_path}/nothing/')
    assert code == 2 and 'cannot read the test split' in err and err.count('\n') == 1
    (tmp_path / 'file').write_text('x')
    code, _, err = run_cli(tool_main('eval_boxam'), capsys, SHAPES_CONFIG, SHAPES_CKPT,
                           '--out-file', tmp_path / 'file/eval.json')
    assert code == 2 and 'file/eval.json: cannot create the folder' in err  # said before any evaluation


def test_vis_scheduler_bad_style_path_and_missing_dataset(capsys, tmp_path):
    tool = tool_main('vis_scheduler')
    common = [SHAPES_CONFIG, '--not-show']
    code, _, err = run_cli(tool, capsys, *common, '--dataset-size', '10', '--style', 'nosuchstyle')
    assert code == 2 and "--style 'nosuchstyle': not a matplotlib style" in err
    (tmp_path / 'file').write_text('x')
    code, _, err = run_cli(tool, capsys, *common, '--dataset-size', '10', '--save-path', tmp_path / 'file/lr.png')
    assert code == 2 and 'cannot create the folder' in err
    code, _, err = run_cli(tool, capsys, *common, '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/x/',
                           '--out-dir', tmp_path)
    assert code == 2 and 'pass --dataset-size N' in err


def test_browse_show_number_must_be_positive(capsys, tmp_path):
    code, _, err = run_cli(tool_main('browse_dataset'), capsys, SHAPES_CONFIG, '--show-number', '-1',
                           '--out-dir', tmp_path, '--not-show')
    assert code == 2 and '--show-number -1: must be positive' in err


def test_coco_training_pipeline_builds_with_albumentations():
    """MMYOLO's COCO configs use mmdet's Albu transform: albumentations must be installed."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from mmyolo_vis.models.config import load_config
    cfg = load_config('mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py')
    init_default_scope('mmyolo')
    pipeline = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'mmdet.Albu']
    assert len(pipeline) == 1
    transform = Compose(pipeline).transforms[0]
    rng = np.random.default_rng(0)
    out = transform(dict(img=rng.integers(0, 255, (64, 80, 3), dtype=np.uint8), img_shape=(64, 80),
                         gt_bboxes=np.array([[5, 5, 40, 40]], np.float32), gt_bboxes_labels=np.array([1]),
                         gt_ignore_flags=np.array([False])))
    assert out['img'].shape == (64, 80, 3)


# ------------------------------------------------------------------ 5. every range checked before the model loads
@pytest.mark.parametrize('demo, extra, message', [
    ('boxam', ['--alpha', '2'], '--alpha 2.0: use a value between 0 and 1'),
    ('boxam', ['--topk', '0'], '--topk 0: give how many boxes to explain'),
    ('boxam', ['--batch-size', '0'], '--batch-size and --num-masks must be positive'),
    ('featmap', ['--alpha', '-1'], '--alpha -1.0: use a value between 0 and 1'),
    ('large', ['--merge-iou-thr', '-1'], '--merge-iou-thr -1.0: use a value in [0, 1]'),
    ('large', ['--batch-size', '0'], '--batch-size 0: must be positive'),
])
def test_ranges_checked_before_the_model_loads(capsys, base, tmp_path, demo, extra, message):
    # the checkpoint does not exist: had the model been loaded first, that would be the error
    code, _, err = run_cli(demo_cli(demo), capsys, *base(make_image(tmp_path / 'a.jpg'), ckpt=tmp_path / 'no.pth'),
                           *extra)
    assert code == 2 and message in err and err.count('\n') == 1


@pytest.mark.parametrize('merge_type, metric', [('nms', 'iou'), ('soft_nms', 'iou'), ('nms', 'ios'),
                                                ('nmm', 'iou'), ('greedy_nmm', 'ios')])
def test_merging_never_mixes_classes(merge_type, metric):
    from mmyolo_vis.large.sliced import Detections, merge
    boxes = np.array([[10, 10, 50, 50], [12, 11, 51, 49], [10, 10, 50, 50], [11, 12, 50, 52]], np.float32)
    dets = Detections(boxes, np.array([0.9, 0.8, 0.7, 0.6], np.float32), np.array([0, 0, 1, 1]))
    out = merge(dets, merge_type, metric, 0.0, classes=('a', 'b'))
    assert sorted(set(out.labels.tolist())) == [0, 1]  # class b's box survives class a's better one
    assert out.scores[out.labels == 1].max() == pytest.approx(0.7)  # untouched by class a (soft-NMS too)
    if merge_type != 'soft_nms':
        assert sorted(out.labels.tolist()) == [0, 1]  # one box per class


# ------------------------------------------------------------------ 6. a file that is not a checkpoint
def test_text_file_as_checkpoint(capsys, base, tmp_path):
    (tmp_path / 'model.pth').write_text('this is a README, not weights\n')
    code, _, err = run_cli(demo_cli('featmap'), capsys, *base(make_image(tmp_path / 'a.jpg'),
                                                              ckpt=tmp_path / 'model.pth'))
    assert code == 2 and 'model.pth: not a checkpoint' in err and '--trust-checkpoint' not in err


# ------------------------------------------------------------------ 7. outputs inside the input folder
def test_same_command_twice_with_out_dir_inside_the_inputs(capsys, base, tmp_path):
    make_image(tmp_path / 'in/a.jpg')
    argv = base(tmp_path / 'in', out=tmp_path / 'in/vis')
    for _ in range(2):
        code, _, err = run_cli(demo_cli('featmap'), capsys, *argv)
        assert code == 0, err
        assert 'wrote 1 picture to' in err
    assert written(tmp_path / 'in') == ['a.jpg', 'vis/a.jpg']


# ------------------------------------------------------------------ 8. corrupt TIFF
def test_corrupt_tiff_message(capsys, base, tmp_path):
    (tmp_path / 'bad.tif').write_bytes(b'II*\x00' + b'\xff' * 64)
    code, out, err = run_cli(demo_cli('large'), capsys, *base(tmp_path / 'bad.tif'), '--patch-size', '160')
    assert code == 1
    assert err.splitlines()[0].startswith('error: ') and 'bad.tif: not a readable TIFF' in err
    assert '(0)' not in err and len([l for l in err.splitlines() if l.strip()]) == 2  # the error and the summary
    assert out == ''
