"""Sliced inference mechanics with a stub detector (no model): grid, batching, shift, clip, merges."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmyolo_vis.core.errors import UserError
from mmyolo_vis.large.sliced import Detections, SlicedPredictor, merge, shift_and_clip, slice_grid


class StubRunner:
    """Returns, for each patch, one box that sticks out of the patch's top-left corner."""
    classes = ('a', 'b')

    def __init__(self):
        self.batches = []

    def infer(self, images):
        self.batches.append(len(images))
        out = []
        for img in images:
            s = DetDataSample()
            s.pred_instances = InstanceData(bboxes=torch.tensor([[-15.0, -8.0, 20.0, 30.0], [5.0, 5.0, 9.0, 9.0]]),
                                            scores=torch.tensor([0.9, 0.2]), labels=torch.tensor([1, 0]))
            out.append(s)
        return out


def test_slice_grid_covers_the_image():
    wins = slice_grid(1000, 1500, 320, 0.25)
    assert all(x2 - x1 == 320 and y2 - y1 == 320 for x1, y1, x2, y2 in wins)
    covered = np.zeros((1000, 1500), bool)
    for x1, y1, x2, y2 in wins:
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    assert slice_grid(200, 300, 640, 0.25) == [(0, 0, 300, 200)]
    with pytest.raises(UserError, match=r'use a value in \[0, 1\)'):
        slice_grid(1000, 1000, 320, 1.0)


def test_negative_box_in_a_patch_is_clipped_and_merged():
    runner = StubRunner()
    pred = SlicedPredictor(runner, patch_size=100, overlap=0.2, batch_size=4, score_thr=0.3)
    image = np.zeros((250, 260, 3), np.uint8)
    dets, wins = pred.predict_patches(lambda x1, y1, x2, y2: image[y1:y2, x1:x2], 250, 260)
    assert len(wins) == 9 and runner.batches == [4, 4, 1]  # real batches of patches
    assert len(dets) == 9 and (dets.scores == np.float32(0.9)).all()  # the 0.2 box is under the threshold
    first = dets.boxes[0]  # patch (0, 0): the box is clipped at the image border
    assert first.tolist() == [0.0, 0.0, 20.0, 30.0]
    assert dets.boxes.min() >= 0 and (dets.boxes[:, 2] <= 260).all() and (dets.boxes[:, 3] <= 250).all()
    for merge_type in ('nms', 'soft_nms', 'nmm', 'greedy_nmm'):
        merged = merge(dets, merge_type, 'iou', 0.25, classes=runner.classes)
        assert len(merged) >= 1 and merged.boxes.min() >= 0


def test_shift_and_clip_drops_boxes_outside():
    d = Detections(np.array([[-130, -230, -110, -210], [-30, -30, -10, -10], [10, 10, 50, 60]], np.float32),
                   np.array([0.5, 0.6, 0.7], np.float32), np.array([0, 1, 2]))
    out = shift_and_clip(d, (100, 200), (230, 130))  # the first ends up left of and above the image
    assert out.boxes.tolist() == [[70.0, 170.0, 90.0, 190.0], [110.0, 210.0, 130.0, 230.0]]
    assert out.labels.tolist() == [1, 2]


def test_merges_of_two_patches_views_of_one_object():
    # the same object seen by two overlapping patches: one cut at x=100, one whole
    d = Detections(np.array([[80, 10, 100, 40], [80, 10, 112, 40], [300, 300, 320, 330]], np.float32),
                   np.array([0.6, 0.9, 0.8], np.float32), np.array([0, 0, 0]))
    nms = merge(d, 'nms', 'iou', 0.25)
    assert sorted(nms.scores.tolist()) == pytest.approx([0.8, 0.9])
    nms_ios = merge(d, 'nms', 'ios', 0.5)
    assert len(nms_ios) == 2
    nmm = merge(d, 'nmm', 'ios', 0.5, classes=('a',))
    assert len(nmm) == 2
    big = nmm.boxes[np.argmax(nmm.scores)]
    assert big.tolist() == [80.0, 10.0, 112.0, 40.0] and nmm.scores.max() == pytest.approx(0.9)
    soft = merge(d, 'soft_nms', 'iou', 0.25)
    assert len(soft) == 3 and soft.scores.min() < 0.6  # soft-NMS lowers the overlapped score
    with pytest.raises(UserError, match='iou only'):
        merge(d, 'soft_nms', 'ios', 0.25)
    other_class = Detections(d.boxes[:2], d.scores[:2], np.array([0, 1]))
    assert len(merge(other_class, 'nms', 'iou', 0.25)) == 2  # merging is per class


@pytest.mark.parametrize('tile', [(64, 48), None])
def test_tiff_windows_equal_the_picture(tmp_path, tile):
    import tifffile

    from mmyolo_vis.large.reader import TiffReader, thumbnail
    rgb = np.random.default_rng(0).integers(0, 256, (300, 410, 3), dtype=np.uint8)
    path = tmp_path / 'big.tif'
    tifffile.imwrite(path, rgb, tile=tile, bigtiff=tile is not None, rowsperstrip=37 if tile is None else None)
    r = TiffReader(str(path))
    assert r.shape == (300, 410)
    for win in [(0, 0, 410, 300), (50, 20, 170, 250), (400, 290, 410, 300), (63, 47, 65, 49)]:
        x1, y1, x2, y2 = win
        assert np.array_equal(r.read(*win), rgb[y1:y2, x1:x2, ::-1])
    small = thumbnail(r, 0.5, band=64)
    assert small.shape == (150, 205, 3)
    r.close()


def test_unreadable_and_truncated_tiff(tmp_path):
    import tifffile

    from mmyolo_vis.large.reader import TiffReader
    (tmp_path / 'bad.tif').write_bytes(b'II*\x00garbage')
    with pytest.raises(UserError, match='not a readable TIFF'):
        TiffReader(str(tmp_path / 'bad.tif'))
    rgb = np.zeros((256, 256, 3), np.uint8)
    tifffile.imwrite(tmp_path / 'cut.tif', rgb, tile=(64, 64))
    data = (tmp_path / 'cut.tif').read_bytes()
    (tmp_path / 'cut.tif').write_bytes(data[:len(data) // 2])
    with pytest.raises(UserError, match='truncated|not a readable TIFF|cannot decode'):
        r = TiffReader(str(tmp_path / 'cut.tif'))
        r.read(0, 0, 256, 256)


def test_tiff_tiles_shared_by_overlapping_windows_are_decoded_once(tmp_path):
    import tifffile

    from mmyolo_vis.large.reader import TiffReader
    from mmyolo_vis.large.sliced import slice_grid
    rgb = np.random.default_rng(1).integers(0, 256, (300, 410, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / 't.tif', rgb, tile=(64, 64))
    tiles = 5 * 7  # ceil(300 / 64) x ceil(410 / 64)
    windows = slice_grid(300, 410, 128, 0.25)
    for cache_bytes, expected in ((128 * 2**20, tiles), (0, None)):
        r = TiffReader(str(tmp_path / 't.tif'), cache_bytes=cache_bytes)
        for x1, y1, x2, y2 in windows:
            assert np.array_equal(r.read(x1, y1, x2, y2), rgb[y1:y2, x1:x2, ::-1])
        if expected is None:  # without a cache the overlaps decode tiles again and again
            assert r.decoded > 2 * tiles
        else:
            assert r.decoded == expected
        r.close()
