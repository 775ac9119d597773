"""Every script against one table of bad inputs (issue 20): each run gives one line on stderr per bad thing,
the right exit code, no traceback, overwrites nothing and leaves nothing half-written.

The tools run in this process (their ``cli``, as the scripts call it), so that the table stays fast; only
``tools/dist_run.sh`` runs as a subprocess. A new tool joins by getting a row in ``TOOLS`` and its cells.

Kinds of bad input (columns):
    missing, empty, truncated, not_image, thin, over_limit (PNG header; every container: PNG, JPEG, TIFF,
    Radiance HDR, WebP, BMP, PFM), empty_config, wrong_config, missing_config, wrong_checkpoint,
    missing_checkpoint, unwritable. Per-file kinds run as one folder run per tool (a bad file is said and
    skipped, the good one is written); the others stop the run before any output.

Not applicable (and why) is listed in ``NOT_APPLICABLE``.
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ROOT, TINY_CONFIG, make_image

CLS_CONFIG = str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py')
CLS_CKPT = str(ROOT / 'checkpoints/resnet18_tiny_shapes.pth')

NOT_APPLICABLE = {
    ('large', 'thin'): 'sliced inference feeds the model patches: a thin picture is a valid input '
                       '(test_hardening.test_thin_image_is_sliced_like_any_other)',
    ('vis_scheduler', 'checkpoint'): 'the schedule is simulated on a toy model: no checkpoint is read',
    ('train', 'missing_checkpoint'): 'training takes no checkpoint (--resume with a missing file is the same '
                                     'check as test.py\'s)',
    ('browse_dataset', 'checkpoint'): 'no model is built: no checkpoint is read',
    ('eval_boxam', 'per_file'): 'its inputs are a split, not files: a bad picture inside one is said and skipped '
                                '(test_a_bad_picture_in_an_evaluation_split_is_said_and_skipped)',
    ('eval_cls_cam', 'per_file'): 'as eval_boxam: a bad picture inside the split is said and skipped '
                                  '(test_a_bad_picture_in_an_evaluation_split_is_said_and_skipped)',
    ('vis_scheduler', 'per_file'): 'the schedule is simulated on a toy model: no picture is read',
    ('test', 'per_file'): 'as train: MMEngine\'s data loader; its folder and annotation file are checked here',
    ('event_images', 'config'): 'it reads the event files a training run wrote: no config, no model',
    ('event_images', 'checkpoint'): 'it reads the event files a training run wrote: no checkpoint is read',
    ('event_images', 'per_file'): 'the pictures come from an event file (TensorBoard decodes them); a folder with no '
                                  'event file is the input checked here',
    ('train', 'per_file'): 'MMEngine\'s data loader reads the training set (trusted data); its folder and '
                           'annotation file are checked here',
}


# ------------------------------------------------------------------ the inputs
def png_header_only(path, width, height):
    """A valid PNG header announcing width x height, with almost no pixel data (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'\x00' * 64))
                           + chunk(b'IEND', b''))


CONTAINERS = ('png', 'jpg', 'tif', 'hdr', 'webp', 'bmp', 'pfm')


@pytest.fixture(scope='module')
def world(tmp_path_factory, tiny_checkpoint):
    root = tmp_path_factory.mktemp('bad_inputs')
    inputs = root / 'inputs'
    bad = inputs / 'bad'
    bad.mkdir(parents=True)
    make_image(bad / 'good.jpg', 200, 120)
    (bad / 'empty.png').write_bytes(b'')
    good_png = cv2.imencode('.png', np.random.default_rng(1).integers(0, 255, (120, 200, 3), dtype=np.uint8))[1]
    (bad / 'truncated.png').write_bytes(good_png.tobytes()[:len(good_png) // 2])
    (bad / 'not_image.jpg').write_text('this is text, not a picture\n')
    cv2.imwrite(str(bad / 'thin.png'), np.zeros((1, 4000, 3), np.uint8))  # 160 px input: 0.04 px high
    png_header_only(bad / 'over_limit.png', 30000, 30000)
    containers = inputs / 'containers'  # the same 200x120 picture in every container, refused by a 20000 px limit
    containers.mkdir()
    rgb = np.random.default_rng(2).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    for ext in CONTAINERS:
        img = rgb.astype(np.float32) / 255 if ext in ('hdr', 'pfm') else rgb
        assert cv2.imwrite(str(containers / f'big.{ext}'), img), ext
    make_image(containers / 'small.jpg', 100, 100)
    (inputs / 'empty.py').write_text('')
    (inputs / 'model_only.py').write_text("model = dict(type='YOLODetector')\n")
    (inputs / 'not_a_checkpoint.pth').write_text('not a checkpoint\n')
    (inputs / 'a_file').write_text('a file where a folder is wanted\n')
    # a classification split (make_shapes_cls_dataset.py layout) and its broken variants
    cls = inputs / 'cls'
    for name, cls_name in (('0.png', 'circle'), ('1.png', 'square')):
        make_image(cls / 'val' / cls_name / name, 72, 72)
    ann = dict(images=[dict(id=0, file_name='val/circle/0.png'), dict(id=1, file_name='val/square/1.png')],
               annotations=[dict(image_id=0, bbox=[10, 10, 40, 40]), dict(image_id=1, bbox=[5, 5, 30, 30])])
    (cls / 'annotations').mkdir()
    (cls / 'annotations/val.json').write_text(json.dumps(ann))
    bad_cls = inputs / 'cls_bad_picture'  # the split above, its second picture corrupt
    make_image(bad_cls / 'val' / 'circle' / '0.png', 72, 72)
    (bad_cls / 'val' / 'square').mkdir(parents=True)
    (bad_cls / 'val' / 'square' / '1.png').write_bytes(b'\x89PNG\r\n\x1a\n not a picture')
    (bad_cls / 'annotations').mkdir()
    (bad_cls / 'annotations/val.json').write_text(json.dumps(ann))
    for variant, text in (('truncated', json.dumps(ann)[:40]), ('zero', json.dumps(dict(images=[], annotations=[]))),
                          ('unknown_class', json.dumps(dict(images=[dict(id=0, file_name='val/hexagon/0.png')],
                                                            annotations=[dict(image_id=0, bbox=[1, 1, 5, 5])])))):
        (inputs / f'cls_{variant}' / 'annotations').mkdir(parents=True)
        (inputs / f'cls_{variant}' / 'annotations/val.json').write_text(text)
    # a detection split (COCO) whose second image is missing
    det = inputs / 'det'
    make_image(det / 'img/a.jpg', 200, 120)
    png_header_only(det / 'img/bomb.png', 30000, 30000)
    coco = dict(images=[dict(id=1, file_name='a.jpg', width=200, height=120),
                        dict(id=2, file_name='gone.jpg', width=200, height=120),
                        dict(id=3, file_name='bomb.png', width=30000, height=30000)],
                annotations=[dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 50, 40], area=2000, iscrowd=0),
                             dict(id=2, image_id=2, category_id=2, bbox=[10, 10, 50, 40], area=2000, iscrowd=0),
                             dict(id=3, image_id=3, category_id=2, bbox=[10, 10, 50, 40], area=2000, iscrowd=0)],
                categories=[dict(id=1, name='a'), dict(id=2, name='b'), dict(id=3, name='c')])
    (det / 'ann.json').write_text(json.dumps(coco))
    for p in inputs.rglob('*'):  # the inputs are read-only: a tool that writes over one fails loudly
        if p.is_file():
            p.chmod(0o444)
    return dict(root=root, inputs=inputs, ckpt=tiny_checkpoint)


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


def loads(path: Path) -> bool:
    """Whether an output file reads back whole (a picture, an .npz, JSON or CSV)."""
    suffix = path.suffix.lower()
    try:
        if suffix == '.npz':
            with np.load(path) as z:
                [z[k] for k in z.files]
            return True
        if suffix == '.json':
            json.loads(path.read_text())
            return True
        if suffix == '.csv':
            return path.read_text().endswith('\n')
        return cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is not None
    except Exception:
        return False


BAR = re.compile(r'\d+%\|.*\| *\d+/\d+ \[')  # a tqdm progress bar, redrawn after \r


def run_tool(tool, argv, capsys):
    """(exit code, stderr lines but the progress bars) of a tool's cli in this process; it must never show a
    traceback, and a line must never share its terminal line with a progress bar."""
    import logging
    import sys

    from mmengine.logging import MMLogger
    for logger in list(MMLogger._instance_dict.values()):  # MMEngine's loggers keep an earlier test's stream
        for h in logger.handlers:
            if type(h) is logging.StreamHandler:
                h.stream = sys.stdout  # (setStream would flush the closed one)
    code = TOOLS[tool]([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert 'Traceback' not in err and 'Traceback' not in out, err
    lines = [l.strip() for l in re.split(r'[\r\n]', err) if l.strip() and not BAR.search(l)]
    assert not [l for l in re.split(r'[\r\n]', err) if BAR.search(l) and 'error' in l], err
    return code, lines


def cli_of(module):
    def call(argv):
        import importlib

        return importlib.import_module(f'mmyolo_vis.apps.{module}').cli(argv)
    return call


TOOLS = {name: cli_of(module) for name, module in (
    ('featmap', 'featmap'), ('boxam', 'boxam'), ('large', 'large_image'), ('vis_cam', 'vis_cam'),
    ('eval_boxam', 'eval_boxam'), ('eval_cls_cam', 'eval_cls_cam'), ('browse_dataset', 'browse_dataset'),
    ('vis_scheduler', 'vis_scheduler'), ('train', 'train'), ('test', 'test'), ('event_images', 'event_images'))}

IMAGE_TOOLS = ('featmap', 'boxam', 'large', 'vis_cam')


def image_tool_args(tool, w, img, out, config=None, ckpt=None):
    detector = tool != 'vis_cam'
    config = config or (TINY_CONFIG if detector else CLS_CONFIG)
    ckpt = ckpt or (w['ckpt'] if detector else CLS_CKPT)
    extra = ['--patch-size', '160'] if tool == 'large' else []
    return [img, config, ckpt, '--device', 'cpu', '--out-dir', out, *extra]


# ------------------------------------------------------------------ per-file kinds: one folder run per tool
PER_FILE = {  # file -> what its line says
    'empty.png': 'the file is empty',
    'truncated.png': 'not a readable image',
    'not_image.jpg': 'not a readable image',
    'thin.png': 'too thin for the model',
    'over_limit.png': '30000x30000 is 900 MP, above the limit of 100 MP',
}


def check_outputs(out: Path, expected: set):
    files = {p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file()} if out.exists() else set()
    assert files == expected, files
    for name in files:
        assert loads(out / name), f'{name} does not load'


@pytest.mark.parametrize('tool', IMAGE_TOOLS)
def test_bad_files_in_a_folder_are_said_once_each_and_skipped(world, tool, capsys, tmp_path):
    before = snapshot(world['inputs'])
    out = tmp_path / 'out'
    code, lines = run_tool(tool, image_tool_args(tool, world, world['inputs'] / 'bad', out), capsys)
    expected = dict(PER_FILE)
    if (tool, 'thin') in NOT_APPLICABLE:
        expected.pop('thin.png')
    for name, says in expected.items():
        mine = [l for l in lines if name in l]
        assert len(mine) == 1, (name, lines)
        assert mine[0].startswith('error: ') and says in mine[0] and mine[0].endswith('(skipped)'), mine[0]
    errors = [l for l in lines if l.startswith('error:')]
    assert len(errors) == len(expected), lines
    assert code == 1
    written = {'good.jpg'} | ({'thin.png'} if 'thin.png' not in expected else set())
    check_outputs(out, written)
    assert snapshot(world['inputs']) == before


@pytest.mark.parametrize('tool', IMAGE_TOOLS)
def test_the_pixel_limit_holds_in_every_container(world, tool, capsys, tmp_path):
    out = tmp_path / 'out'
    code, lines = run_tool(tool, [*image_tool_args(tool, world, world['inputs'] / 'containers', out),
                                  '--max-pixels', '20000'], capsys)
    for ext in CONTAINERS:
        mine = [l for l in lines if f'big.{ext}' in l]
        assert len(mine) == 1 and '200x120 is 0.024 MP, above the limit of 0.02 MP' in mine[0], (ext, lines)
    assert code == 1
    check_outputs(out, {'small.jpg'})


# ------------------------------------------------------------------ whole-run kinds: one line, exit 2, nothing written
def whole_run_cases(w):
    i = w['inputs']
    ckpt, missing = w['ckpt'], i / 'nothing_here.jpg'
    cases = {}
    for tool in IMAGE_TOOLS:
        good = i / 'bad/good.jpg'
        wrong = (TINY_CONFIG, ckpt, 'not an image classifier') if tool == 'vis_cam' else \
            (CLS_CONFIG, CLS_CKPT, 'not a detector')
        other_ckpt = w['ckpt'] if tool == 'vis_cam' else CLS_CKPT
        args = lambda out, t=tool, **kw: image_tool_args(t, w, kw.pop('img', good), out, **kw)  # noqa: E731
        cases.update({
            (tool, 'missing'): (lambda out, a=args: a(out, img=missing), 'no such file or folder'),
            (tool, 'empty_config'): (lambda out, a=args: a(out, config=i / 'empty.py'), 'defines no model'),
            (tool, 'missing_config'): (lambda out, a=args: a(out, config=i / 'none.py'), 'config file not found'),
            (tool, 'wrong_config'): (lambda out, a=args, c=wrong: a(out, config=c[0], ckpt=c[1]), wrong[2]),
            (tool, 'wrong_checkpoint'): (lambda out, a=args, c=other_ckpt: a(out, ckpt=c),
                                         'checkpoint does not fit this model|no tensor of the checkpoint'),
            (tool, 'not_a_checkpoint'): (lambda out, a=args: a(out, ckpt=i / 'not_a_checkpoint.pth'),
                                         'not a checkpoint'),
            (tool, 'missing_checkpoint'): (lambda out, a=args: a(out, ckpt=i / 'none.pth'), 'checkpoint not found'),
            (tool, 'unwritable'): (lambda out, a=args: a(i / 'a_file'), 'cannot create the output folder'),
        })
    eb = lambda out, config=TINY_CONFIG, ckpt=ckpt, *extra: [  # noqa: E731
        config, ckpt, '--device', 'cpu', '--num-images', '1', '--out-file', out / 'r.json', *extra]
    cases.update({
        ('eval_boxam', 'missing'): (lambda out: eb(out), 'cannot read the test split'),
        ('eval_boxam', 'empty_config'): (lambda out: eb(out, i / 'empty.py'), 'defines no model'),
        ('eval_boxam', 'wrong_config'): (lambda out: eb(out, CLS_CONFIG, CLS_CKPT), 'not a detector'),
        ('eval_boxam', 'wrong_checkpoint'): (lambda out: eb(out, TINY_CONFIG, CLS_CKPT),
                                             'checkpoint does not fit this model|no tensor of the checkpoint'),
        ('eval_boxam', 'missing_checkpoint'): (lambda out: eb(out, TINY_CONFIG, i / 'none.pth'), 'checkpoint not found'),
        ('eval_boxam', 'zero_images'): (lambda out: eb(out, TINY_CONFIG, ckpt, '--num-images', '0'),
                                        '--num-images 0: give a positive number'),
        ('eval_boxam', 'unwritable'): (lambda out: [TINY_CONFIG, ckpt, '--out-file', i / 'a_file/r.json'],
                                       'cannot create the folder'),
    })
    ec = lambda out, root=i / 'cls', config=CLS_CONFIG, ckpt=CLS_CKPT: [  # noqa: E731
        config, ckpt, '--data-root', root, '--methods', 'gradcam', '--out-file', out / 'r.json']
    cases.update({
        ('eval_cls_cam', 'missing'): (lambda out: ec(out, i / 'nothing'), 'no such folder'),
        ('eval_cls_cam', 'not_a_folder'): (lambda out: ec(out, i / 'a_file'), 'not a folder'),
        ('eval_cls_cam', 'truncated'): (lambda out: ec(out, i / 'cls_truncated'), 'not a readable annotation file'),
        ('eval_cls_cam', 'empty'): (lambda out: ec(out, i / 'cls_zero'), 'holds no images'),
        ('eval_cls_cam', 'unknown_class'): (lambda out: ec(out, i / 'cls_unknown_class'),
                                            "class folder 'hexagon' of the split is not a class of this model"),
        ('eval_cls_cam', 'zero_images'): (lambda out: ec(out) + ['--num-images', '0'],
                                          '--num-images 0: give a positive number'),
        ('eval_cls_cam', 'empty_config'): (lambda out: ec(out, config=i / 'empty.py'), 'defines no model'),
        ('eval_cls_cam', 'wrong_config'): (lambda out: ec(out, config=TINY_CONFIG, ckpt=ckpt),
                                           'not an image classifier'),
        ('eval_cls_cam', 'wrong_checkpoint'): (lambda out: ec(out, ckpt=ckpt),
                                               'checkpoint does not fit this model|no tensor of the checkpoint'),
        ('eval_cls_cam', 'unwritable'): (lambda out: [CLS_CONFIG, CLS_CKPT, '--data-root', i / 'cls',
                                                      '--out-file', i / 'a_file/r.json'], 'cannot create the folder'),
    })
    bd = lambda out, config=TINY_CONFIG: [config, '--not-show', '--out-dir', out]  # noqa: E731
    cases.update({
        ('browse_dataset', 'missing'): (lambda out: bd(out) + ['--cfg-options', f'train_dataloader.dataset.data_root={i}/none/'],
                                        'cannot build the train dataset'),
        ('browse_dataset', 'empty_config'): (lambda out: bd(out, i / 'empty.py'), 'defines no dataset'),
        ('browse_dataset', 'missing_config'): (lambda out: bd(out, i / 'none.py'), 'config file not found'),
        ('browse_dataset', 'unwritable'): (lambda out: bd(i / 'a_file'), 'cannot create the output folder'),
    })
    vs = lambda out, config=TINY_CONFIG: [config, '--dataset-size', '10', '--not-show', '--out-dir', out]  # noqa: E731
    cases.update({
        ('vis_scheduler', 'empty_config'): (lambda out: vs(out, i / 'empty.py'), 'defines no train_dataloader'),
        ('vis_scheduler', 'wrong_config'): (lambda out: vs(out, i / 'model_only.py'), 'defines no train_dataloader'),
        ('vis_scheduler', 'missing_config'): (lambda out: vs(out, i / 'none.py'), 'config file not found'),
        ('vis_scheduler', 'unwritable'): (lambda out: vs(i / 'a_file'), 'cannot create the folder'),
    })
    shapes = str(ROOT / 'configs/yolov5/yolov5_n_shapes.py')
    no_data = ['--cfg-options', f'train_dataloader.dataset.data_root={i}/none/',
               f'test_dataloader.dataset.data_root={i}/none/', f'val_evaluator.ann_file={i}/none/val.json',
               f'test_evaluator.ann_file={i}/none/val.json']
    tr = lambda out, config=shapes, *extra: [config, '--work-dir', out, *extra]  # noqa: E731
    cases.update({
        ('train', 'empty_config'): (lambda out: tr(out, i / 'empty.py'), 'defines no model, train_dataloader'),
        ('train', 'wrong_config'): (lambda out: tr(out, i / 'model_only.py'), 'defines no train_dataloader'),
        ('train', 'missing_config'): (lambda out: tr(out, i / 'none.py'), 'config file not found'),
        ('train', 'missing'): (lambda out: tr(out, shapes, *no_data), "train_dataloader's data_root is not here"),
        ('train', 'not_a_checkpoint'): (lambda out: tr(out, shapes, '--resume', i / 'not_a_checkpoint.pth'),
                                        'not a checkpoint'),
        ('train', 'unwritable'): (lambda out: tr(i / 'a_file'), 'cannot create the output folder'),
    })
    te = lambda out, config=shapes, c=str(ROOT / 'checkpoints/yolov5_n_shapes.pth'), *extra: [  # noqa: E731
        config, c, '--work-dir', out, *extra]
    cases.update({
        ('test', 'empty_config'): (lambda out: te(out, i / 'empty.py'), 'defines no model, test_dataloader'),
        ('test', 'wrong_config'): (lambda out: te(out, i / 'model_only.py'), 'defines no test_dataloader'),
        ('test', 'missing_config'): (lambda out: te(out, i / 'none.py'), 'config file not found'),
        ('test', 'missing_checkpoint'): (lambda out: te(out, shapes, i / 'none.pth'), 'checkpoint not found'),
        ('test', 'not_a_checkpoint'): (lambda out: te(out, shapes, i / 'not_a_checkpoint.pth'), 'not a checkpoint'),
        ('test', 'missing'): (lambda out: te(out, shapes, str(ROOT / 'checkpoints/yolov5_n_shapes.pth'), *no_data),
                              "test_dataloader's data_root is not here"),
        ('test', 'unwritable'): (lambda out: te(i / 'a_file'), 'cannot create the output folder'),
    })
    ev = lambda out, logdir: [logdir, '--tag', 'featmap_00000', '--out', out / 'e.jpg']  # noqa: E731
    cases.update({
        ('event_images', 'missing'): (lambda out: ev(out, i / 'none'), 'no TensorBoard event file'),
        ('event_images', 'not_an_event_dir'): (lambda out: ev(out, i / 'cls'), 'no TensorBoard event file'),
    })
    return cases


CASE_IDS = [f'{t}-{k}' for t in IMAGE_TOOLS for k in (
    'missing', 'empty_config', 'missing_config', 'wrong_config', 'wrong_checkpoint', 'not_a_checkpoint',
    'missing_checkpoint', 'unwritable')] + [
    f'eval_boxam-{k}' for k in ('missing', 'zero_images', 'empty_config', 'wrong_config', 'wrong_checkpoint',
                                'missing_checkpoint', 'unwritable')] + [
    f'eval_cls_cam-{k}' for k in ('missing', 'not_a_folder', 'truncated', 'empty', 'unknown_class', 'zero_images',
                                  'empty_config',
                                  'wrong_config', 'wrong_checkpoint', 'unwritable')] + [
    f'browse_dataset-{k}' for k in ('missing', 'empty_config', 'missing_config', 'unwritable')] + [
    f'vis_scheduler-{k}' for k in ('empty_config', 'wrong_config', 'missing_config', 'unwritable')] + [
    f'train-{k}' for k in ('empty_config', 'wrong_config', 'missing_config', 'missing', 'not_a_checkpoint',
                           'unwritable')] + [
    f'test-{k}' for k in ('empty_config', 'wrong_config', 'missing_config', 'missing_checkpoint', 'not_a_checkpoint',
                          'missing', 'unwritable')] + [
    f'event_images-{k}' for k in ('missing', 'not_an_event_dir')]


@pytest.mark.parametrize('case', CASE_IDS)
def test_a_bad_run_says_one_line_and_writes_nothing(world, case, capsys, tmp_path, monkeypatch):
    import re
    tool, kind = case.split('-', 1)
    argv, says = whole_run_cases(world)[tool, kind]
    monkeypatch.chdir(tmp_path)  # a tool's stray output (work_dirs/, .dist_test/) would show here
    before = snapshot(world['inputs'])
    out = tmp_path / 'out'
    code, lines = run_tool(tool, argv(out), capsys)
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith('error: ') and re.search(says, lines[0]), lines
    assert snapshot(world['inputs']) == before
    left = [p for p in tmp_path.rglob('*') if p.is_file()]
    assert left == [], left


@pytest.mark.parametrize('tool', list(TOOLS))
def test_a_bad_option_is_one_line(tool, capsys):
    """argparse's own error, in one line (not the whole usage, which every rank of a distributed run printed)."""
    with pytest.raises(SystemExit) as e:
        TOOLS[tool](['--no-such-option'])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.count('\n') == 1 and err.startswith('error: ') and err.rstrip().endswith('--help)'), err
    assert 'the following arguments are required' in err or '--no-such-option' in err, err


def test_every_tool_is_in_the_table():
    """A tool added to apps/ without a row here fails: the table is where it inherits the checks."""
    apps = {p.stem for p in (ROOT / 'mmyolo_vis/apps').glob('*.py')} - {'__init__', 'cli'}
    generators = {'make_shapes_dataset', 'make_shapes_cls_dataset', 'publish_model'}  # write data, read no user input
    covered = {'featmap', 'boxam', 'large_image', 'vis_cam', 'eval_boxam', 'eval_cls_cam', 'browse_dataset',
               'vis_scheduler', 'train', 'test', 'dist_run', 'event_images'}
    assert apps - generators == covered
    tools = {c.split('-', 1)[0] for c in CASE_IDS} | set(IMAGE_TOOLS)
    assert tools == set(TOOLS)
    assert all(tool in TOOLS and len(reason) > 30 for (tool, _), reason in NOT_APPLICABLE.items())


# ------------------------------------------------------------------ a missing image inside a dataset
@pytest.mark.parametrize('mode', ['original', 'transformed', 'pipeline'])
def test_browse_dataset_says_a_missing_or_huge_image_in_one_line_in_every_mode(world, mode, capsys, tmp_path):
    """The pipeline's LoadImageFromFile would decode the 30000x30000 PNG with no limit: its header is read first."""
    det = world['inputs'] / 'det'
    out = tmp_path / 'out'
    code, lines = run_tool('browse_dataset', [
        TINY_CONFIG, '--phase', 'test', '--mode', mode, '--not-show', '--out-dir', out, '--cfg-options',
        f'test_dataloader.dataset.data_root={det}/', 'test_dataloader.dataset.ann_file=ann.json',
        'test_dataloader.dataset.data_prefix.img=img/'], capsys)
    errors = [l for l in lines if l.startswith('error:')]
    assert len(errors) == 2 and all(e.endswith('(skipped)') for e in errors), lines
    assert 'gone.jpg: no such file' in errors[0] and 'bomb.png: 30000x30000 is 900 MP, above the limit' in errors[1]
    assert code == 1
    check_outputs(out, {'a.jpg'})


# ------------------------------------------------------------------ a bad picture inside an evaluation split
def test_a_bad_picture_in_an_evaluation_split_is_said_and_skipped(world, capsys, tmp_path):
    """As in a folder run: one line each, the rest measured and written, exit 1."""
    det = world['inputs'] / 'det'
    out = tmp_path / 'boxam.json'
    code, lines = run_tool('eval_boxam', [
        TINY_CONFIG, world['ckpt'], '--device', 'cpu', '--methods', 'hirescam', '--out-file', out, '--cfg-options',
        f'test_dataloader.dataset.data_root={det}/', 'test_dataloader.dataset.ann_file=ann.json',
        'test_dataloader.dataset.data_prefix.img=img/'], capsys)
    errors = [l for l in lines if l.startswith('error:')]
    assert len(errors) == 2 and all(e.endswith('(skipped)') for e in errors), lines
    assert 'gone.jpg: no such file' in errors[0] and 'bomb.png: 30000x30000 is 900 MP, above the limit' in errors[1]
    assert code == 1 and json.loads(out.read_text())['images'] == 1
    out = tmp_path / 'cls.json'
    code, lines = run_tool('eval_cls_cam', [CLS_CONFIG, CLS_CKPT, '--data-root', world['inputs'] / 'cls_bad_picture',
                                            '--methods', 'gradcam', '--out-file', out], capsys)
    errors = [l for l in lines if l.startswith('error:')]
    assert len(errors) == 1 and '1.png' in errors[0] and errors[0].endswith('(skipped)'), lines
    rows = json.loads(out.read_text())
    assert code == 1 and [r['images'] for r in rows] == [1]


# ------------------------------------------------------------------ dist_run.sh
def dist_run(*args, env=None, timeout=120):
    e = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    return subprocess.run(['bash', str(ROOT / 'tools/dist_run.sh'), *map(str, args)], capture_output=True,
                          text=True, env=e, timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize('args,says', [
    ((), 'SCRIPT and NPROC are required'),
    (('demo/featmap_vis_demo.py',), 'SCRIPT and NPROC are required'),
    (('demo/featmap_vis_demo.py', '0'), 'NPROC 0: give the number of processes'),
    (('demo/featmap_vis_demo.py', 'abc'), 'NPROC abc: give the number of processes'),
    (('demo/no_such_script.py', '2'), 'demo/no_such_script.py: no such script'),
])
def test_dist_run_checks_its_arguments_first(args, says):
    r = dist_run(*args)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'error: {says}') and 'usage: bash tools/dist_run.sh' in lines[0]


def test_dist_run_names_a_port_in_use():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen()
        port = s.getsockname()[1]
        r = dist_run('demo/featmap_vis_demo.py', 2, 'x', env=dict(PORT=str(port)))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and f'PORT {port} is in use' in lines[0], r.stderr


def test_a_failed_distributed_run_ends_with_the_ranks_own_lines(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    r = dist_run('demo/featmap_vis_demo.py', 2, tmp_path / 'nothing.jpg', TINY_CONFIG, 'none.pth', '--device', 'cpu',
                 '--out-dir', tmp_path / 'out', env=dict(PORT=str(port)))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert lines == [f'error: {tmp_path / "nothing.jpg"}: no such file or folder'] * 2, r.stderr
    assert not (tmp_path / 'out').exists()
