"""Issue 20's numbered defects, one test (or a few) each; the table of every tool against every kind of bad
input is tests/test_bad_inputs.py, Ctrl-C is tests/test_interrupts.py."""
import os
import tracemalloc
import warnings

import cv2
import numpy as np
import pytest

from conftest import ROOT, TINY_CONFIG, make_image, run_cli

CNN = str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py'), str(ROOT / 'checkpoints/resnet18_tiny_shapes.pth')
VIT = str(ROOT / 'configs/classifiers/vit_tiny_shapes.py'), str(ROOT / 'checkpoints/vit_tiny_shapes.pth')


# ------------------------------------------------------------------ 1. the pixel limit bounds memory
def test_a_format_pillow_cannot_parse_is_measured_from_its_own_header():
    """A 15000x15000 Radiance HDR named .png (Pillow cannot parse it; OpenCV decoded it at 8.6 GB) is refused
    from its header: the pixel data here is a few bytes, never decoded."""
    from mmyolo_vis.core.errors import UserError
    from mmyolo_vis.core.images import decode_image, pixel_size
    hdr = b'#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 15000 +X 15000\n' + b'\x02\x02' * 16
    assert pixel_size(hdr) == (15000, 15000)
    with pytest.raises(UserError, match='15000x15000 is 225 MP, above the limit of 100 MP'):
        decode_image(hdr, 'bomb.png')


def test_bytes_with_no_header_anything_can_read_are_refused_undecoded():
    from mmyolo_vis.core.errors import UserError
    from mmyolo_vis.core.images import decode_image
    with pytest.raises(UserError, match='not a readable image .* size cannot be read before decoding'):
        decode_image(b'GIF89a-not-really' * 10, 'x.gif')


def test_vis_cam_refuses_a_thin_picture_before_its_resize_inflates_it():
    """2x100000 px: the short-edge resize to 72 px would make it 72x3600000 (259 MP, the 4 GB of the issue).
    Refused from its size, before the pipeline runs: the check allocates nothing of that size."""
    from mmyolo_vis.core.errors import UserError
    from mmyolo_vis.models.classifier import ClassifierRunner
    runner = ClassifierRunner(*CNN, 'cpu')
    thin = np.zeros((2, 100000, 3), np.uint8)
    tracemalloc.start()
    with pytest.raises(UserError, match=r'100000x2 is too thin for the model: its test pipeline would resize it to '
                                        r'3600000x72 \(259 MP'):
        runner.prepare(thin)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20, peak
    with pytest.raises(UserError, match='20000x1 is too thin for the model: a side is under 2 px'):
        runner.prepare(np.zeros((1, 20000, 3), np.uint8))
    assert runner.prepare(np.zeros((3, 400, 3), np.uint8))[0].shape == (1, 3, 64, 64)  # thin, not too thin


@pytest.fixture(scope='module')
def strip_tiffs(tmp_path_factory):
    import tifffile
    folder = tmp_path_factory.mktemp('strips')
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (900, 700, 3), dtype=np.uint8)
    rgb[::7] //= 3  # some structure, so that deflate's output has a shape
    layouts = {'one_strip_deflate_predictor': dict(compression='zlib', predictor=True, rowsperstrip=900),
               'one_strip_raw': dict(rowsperstrip=900),
               'one_strip_big_endian': dict(compression='zlib', rowsperstrip=900, byteorder='>'),
               'strips_of_16_rows': dict(compression='zlib', rowsperstrip=16),
               'tiled': dict(compression='zlib', tile=(64, 64))}
    for name, kw in layouts.items():
        tifffile.imwrite(folder / f'{name}.tif', rgb, photometric='rgb', **kw)
    return folder, rgb[..., ::-1], list(layouts)


@pytest.mark.parametrize('stream', [False, True], ids=['whole_strips', 'streamed'])
def test_every_tiff_layout_reads_the_same_pixels_window_by_window(strip_tiffs, stream):
    from mmyolo_vis.large.reader import TiffReader, thumbnail
    from mmyolo_vis.large.sliced import slice_grid
    folder, bgr, layouts = strip_tiffs
    windows = slice_grid(900, 700, 160, 0.25)
    for name in layouts:
        reader = TiffReader(str(folder / f'{name}.tif'))
        if stream:
            reader.STREAM_BYTES = 1000  # every strip above it is decoded incrementally
        for x1, y1, x2, y2 in windows + [(5, 3, 17, 880), (0, 0, 700, 900)]:
            assert np.array_equal(reader.read(x1, y1, x2, y2), bgr[y1:y2, x1:x2]), (name, (x1, y1, x2, y2))
        small = thumbnail(reader, 0.5, band=100)
        assert small.shape == (450, 350, 3)
        reader.close()


def test_a_single_strip_is_decoded_once_per_pass_with_bounded_memory(tmp_path):
    """The issue's 12000x9000 single strip decoded the whole strip for every patch (132 s against 22 s tiled).
    Now: one decode per pass over the windows, and the memory held is the rows of a band of windows, not the
    strip (11 MB here: the reading's peak stays under half of it). Time: benchmarks/strip_tiff_bench.py."""
    import tifffile
    from mmyolo_vis.large.reader import TiffReader
    from mmyolo_vis.large.sliced import slice_grid
    rgb = np.random.default_rng(1).integers(0, 255, (1600, 2400, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / 'one_strip.tif', rgb, photometric='rgb', compression='zlib', predictor=True,
                     rowsperstrip=1600)
    reader = TiffReader(str(tmp_path / 'one_strip.tif'))
    reader.STREAM_BYTES = 2**20  # streamed above 1 MiB here (16 MiB by default)
    windows = slice_grid(1600, 2400, 160, 0.25)
    tracemalloc.start()
    for w in windows:
        reader.read(*w)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert reader.decoded == 1
    assert peak < rgb.nbytes / 2, (peak, rgb.nbytes)
    x1, y1, x2, y2 = windows[-1]
    assert np.array_equal(reader.read(x1, y1, x2, y2), rgb[y1:y2, x1:x2, ::-1])
    reader.read(0, 0, 10, 10)  # back to the top: a second pass
    assert reader.decoded == 2
    reader.close()


def test_large_image_applies_the_pixel_limit_to_a_tiff_from_its_header(capsys, tmp_path, tiny_checkpoint):
    import tifffile
    from mmyolo_vis.apps.large_image import cli
    tifffile.imwrite(tmp_path / 'in.tif', np.zeros((300, 400, 3), np.uint8), photometric='rgb')
    code, _, err = run_cli(cli, capsys, tmp_path / 'in.tif', TINY_CONFIG, tiny_checkpoint, '--device', 'cpu',
                           '--out-dir', tmp_path / 'out', '--max-pixels', '100000')
    assert code == 1 and '400x300 is 0.12 MP, above the limit of 0.1 MP' in err
    assert not any((tmp_path / 'out').rglob('*.*'))


# ------------------------------------------------------------------ 5. the wrong kind of config
def test_a_classifier_given_to_a_detector_demo_is_named(capsys, tmp_path):
    from mmyolo_vis.apps.featmap import cli
    code, _, err = run_cli(cli, capsys, ROOT / 'demo/shapes_two.jpg', *CNN, '--device', 'cpu',
                           '--out-dir', tmp_path / 'o')
    assert code == 2 and err.count('\n') == 1
    assert 'not a detector (ImageClassifier); give an MMYOLO / MMDetection detector config' in err


# ------------------------------------------------------------------ 7. token settings are settings
def test_dropping_every_token_is_said_once_and_stops_the_run(capsys, tmp_path):
    from mmyolo_vis.apps.vis_cam import cli
    for k in range(2):
        make_image(tmp_path / 'in' / f'{k}.jpg', 90, 80, seed=k)
    code, _, err = run_cli(cli, capsys, tmp_path / 'in', *VIT, '--device', 'cpu', '--out-dir', tmp_path / 'o',
                           '--num-extra-tokens', '65')
    assert code == 2
    errors = [l for l in err.splitlines() if 'error' in l]
    assert errors == ['error: --num-extra-tokens 65: the layer backbone.layers[3].ln1 outputs 65 tokens, none would '
                      'be left for the map; use fewer, or leave it out to read the backbone\'s own count'], err
    assert not any((tmp_path / 'o').rglob('*.*'))


# ------------------------------------------------------------------ 9. test.py leaves no .dist_test/
def test_the_results_folder_of_a_distributed_test_is_removed(tmp_path, monkeypatch, capsys):
    """MMEngine's collect_results_cpu gathers the ranks' results under ./.dist_test/ and removes only its own
    folder inside: tools/test.py removes the (then empty) .dist_test/ it made, and never one that was there."""
    from mmyolo_vis.apps import test as test_app

    class Runner:
        def test(self):
            os.makedirs('.dist_test/tmpabc')  # as collect_results_cpu: mkdtemp(dir='.dist_test') ... rmtree
            os.rmdir('.dist_test/tmpabc')
            return {'coco/bbox_mAP': 0.5}

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(test_app, 'build_runner', lambda *a, **k: Runner())
    assert test_app.cli(['c.py', 'c.pth']) == 0
    assert not (tmp_path / '.dist_test').exists()
    (tmp_path / '.dist_test' / 'someone_elses').mkdir(parents=True)
    assert test_app.cli(['c.py', 'c.pth']) == 0
    assert (tmp_path / '.dist_test' / 'someone_elses').is_dir()
    assert "{'coco/bbox_mAP': 0.5}" in capsys.readouterr().out


# ------------------------------------------------------------------ 10. minor
def test_an_output_name_longer_than_the_file_system_allows_is_said_before_the_run(capsys, tmp_path, tiny_checkpoint):
    from mmyolo_vis.apps.large_image import cli
    long_name = 'a' * 251 + '.jpg'  # 255 bytes: its debug picture's name would be 261
    make_image(tmp_path / 'in' / long_name, 100, 80)
    make_image(tmp_path / 'in' / 'b.jpg', 100, 80)
    code, _, err = run_cli(cli, capsys, tmp_path / 'in', TINY_CONFIG, tiny_checkpoint, '--device', 'cpu',
                           '--out-dir', tmp_path / 'out', '--patch-size', '160', '--debug')
    assert code == 1
    line = [l for l in err.splitlines() if 'longer than the 255' in l]
    assert len(line) == 1 and 'the file name is 261 bytes' in line[0] and line[0].endswith('(skipped)')
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['b.jpg', 'b_debug.jpg']
    assert 'wrote 2 pictures for 1 image to' in err and '1 input(s) failed' in err


def test_a_five_channel_tiff_is_one_line_without_opencv_log(capfd, tmp_path, tiny_checkpoint):
    import tifffile
    from mmyolo_vis.apps.featmap import cli
    tifffile.imwrite(tmp_path / 'five.tif', np.zeros((40, 50, 5), np.uint8), planarconfig='contig',
                     photometric='minisblack')
    code = cli([str(tmp_path / 'five.tif'), TINY_CONFIG, tiny_checkpoint, '--device', 'cpu',
                '--out-dir', str(tmp_path / 'out')])
    err = capfd.readouterr().err  # the file descriptor: OpenCV's and libtiff's own prints would be here
    assert code == 1
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 2 and 'five.tif' in lines[0] and lines[1].startswith('wrote 0 pictures'), err


def test_ablationcam_on_a_classifier_warns_nothing():
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.models.classifier import ClassifierRunner
    cam = ClassifierCAM(ClassifierRunner(*CNN, 'cpu'), 'ablationcam')
    image = cv2.imread(str(ROOT / 'demo/shapes_two.jpg'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        maps = cam.run(image, [0])
    assert maps[0].cam.shape == image.shape[:2]


def test_vis_cam_messages_name_its_own_option(capsys, tmp_path):
    from mmyolo_vis.apps.vis_cam import cli
    a, b = make_image(tmp_path / 'a.jpg'), make_image(tmp_path / 'b.jpg')
    code, _, err = run_cli(cli, capsys, a, b, *CNN, '--device', 'cpu', '--save-path', tmp_path / 'x.jpg')
    assert code == 2 and err.strip() == 'error: --save-path takes one input image, got 2; use --out-dir'


def test_a_classifier_then_a_detector_in_one_process_switch_scope_silently():
    """mmengine warns on a switch back to a registry scope made already; building classifiers (mmpretrain) and
    detectors (mmyolo) in turn in one process (tests, training hooks) is a switch made on purpose: nothing for a user to act on."""
    import logging

    from mmengine.logging import MMLogger
    from mmengine.registry import DefaultScope

    from mmyolo_vis.models.classifier import ClassifierRunner
    from mmyolo_vis.models.detector import ModelRunner

    class Keep(logging.Handler):
        records = []

        def emit(self, record):
            self.records.append(record.getMessage())

    logger, keep = MMLogger.get_current_instance(), Keep()
    logger.addHandler(keep)
    try:
        for _ in range(2):  # the second round switches back to scopes made already (mmengine's warning)
            ClassifierRunner(str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py'), None, 'cpu')
            assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
            ModelRunner(TINY_CONFIG, None, 'cpu')
            assert DefaultScope.get_current_instance().scope_name == 'mmyolo'
    finally:
        logger.removeHandler(keep)
    assert not [m for m in keep.records if 'default scope' in m], keep.records
