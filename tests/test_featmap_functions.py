import numpy as np
import pytest
import torch

from mmyolo_vis.core.errors import UserError
from mmyolo_vis.models.geometry import LetterboxMeta, align_to_image
from mmyolo_vis.vis.reduce import (check_display, grid_shape, parse_channel_reduction, reduce_channels, select_maps,
                                   topk_channels)


def feat():
    f = torch.zeros(4, 2, 3)
    f[0] = 1.0
    f[2, 1, 2] = 10.0  # largest sum
    f[3] = -1.0
    return f


def test_reductions():
    f = feat()
    assert torch.allclose(reduce_channels(f, 'squeeze_mean')[0, 1, 2], torch.tensor((1 + 10 - 1) / 4))
    assert torch.equal(reduce_channels(f, 'select_max'), f[2:3])
    assert reduce_channels(f, None) is f
    idx, maps = topk_channels(f, 2)
    assert idx == [2, 0] and maps.shape == (2, 2, 3)
    labels = [s for s, _ in select_maps(f, None, 3)]
    assert labels == ['ch 2', 'ch 0', 'ch 1']


def test_parse_channel_reduction():
    assert parse_channel_reduction('None') is None
    assert parse_channel_reduction('select_max') == 'select_max'
    with pytest.raises(UserError, match="--channel-reduction 'max'"):
        parse_channel_reduction('max')


def test_display_checks():
    with pytest.raises(UserError, match='set --channel-reduction'):
        check_display(64, None, -1, (2, 2))
    check_display(3, None, -1, (2, 2))
    check_display(1, None, 0, (2, 2))
    with pytest.raises(UserError, match='rows\\*cols at least topk'):
        check_display(64, None, 5, (2, 2))
    with pytest.raises(UserError, match='at least 1'):
        check_display(64, 'select_max', 5, (0, 2))


def test_grid_shape_never_drops_a_panel():
    for n in range(1, 20):
        r, c = grid_shape(n)
        assert r * c >= n and (r - 1) * c < n
    assert grid_shape(3) == (1, 3) and grid_shape(5) == (2, 3) and grid_shape(9) == (3, 3) and grid_shape(6) == (2, 3)


def test_letterbox_meta_from_mmyolo_and_mmdet():
    m = LetterboxMeta.from_metainfo(dict(ori_shape=(300, 600), img_shape=(320, 320, 3),
                                         pad_param=np.array([80, 80, 0, 0], np.float32),
                                         batch_input_shape=(320, 320)))
    assert m.content_tlhw == (80.0, 0.0, 160.0, 320.0)
    m2 = LetterboxMeta.from_metainfo(dict(ori_shape=(300, 600), img_shape=(400, 800), batch_input_shape=(416, 800)))
    assert m2.content_tlhw == (0.0, 0.0, 400.0, 800.0) and m2.input_hw == (416, 800)


def test_align_puts_each_cell_over_its_pixels():
    # 600x300 image letterboxed into 320x320: scale 8/15, 80 px of padding above and below.
    meta = LetterboxMeta((300, 600), (320, 320), (80.0, 0.0, 160.0, 320.0))
    f = np.zeros((40, 40), np.float32)  # stride 8
    f[15, 30] = 1.0  # input pixels y 120..128, x 240..248 -> original y 75..90, x 450..465
    out = align_to_image(f, meta)
    assert out.shape == (300, 600)
    y, x = np.unravel_index(out.argmax(), out.shape)
    assert 75 <= y <= 90 and 450 <= x <= 465
    # Without meta the map is stretched over the image (the naive, shifted placement).
    naive = align_to_image(f, None, (300, 600))
    y2, _ = np.unravel_index(naive.argmax(), naive.shape)
    assert not 75 <= y2 <= 90


def test_overlay_matches_mmengine_heatmap_within_rounding():
    from mmengine.visualization.utils import convert_overlay_heatmap
    from mmyolo_vis.vis.reduce import to_uint8
    from mmyolo_vis.vis.visualizer import overlay_heatmap
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    heat = rng.normal(size=(120, 160)).astype(np.float32)
    ours, theirs = overlay_heatmap(heat, img, 0.4).astype(int), convert_overlay_heatmap(heat, img, 0.4).astype(int)
    assert ours.shape == (120, 160, 3)
    assert np.abs(ours - theirs).max() <= 3  # they truncate to uint8, we round
    # the hottest pixel gets JET's top colour, RGB (128, 0, 0), at 40 %
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    expected = img[y, x] * 0.6 + np.array([128, 0, 0]) * 0.4
    assert np.abs(ours[y, x] - expected).max() <= 1
    assert to_uint8(np.full((3, 3), 7.0)).max() == 0  # a flat map is all zeros, not NaN
    assert to_uint8(np.array([[1.0, 3.0]])).tolist() == [[0, 255]]


@pytest.mark.parametrize('meta, feat_hw', [
    (LetterboxMeta((300, 600), (320, 320), (80.0, 0.0, 160.0, 320.0)), (40, 40)),  # padded above and below
    (LetterboxMeta((1000, 700), (640, 640), (0.0, 96.0, 640.0, 448.0)), (20, 20)),  # left and right, stride 32
])
def test_fast_alignment_equals_the_affine_warp(meta, feat_hw):
    import cv2
    f = np.random.default_rng(1).normal(size=feat_hw).astype(np.float32)
    h, w = meta.ori_hw
    warped = cv2.warpAffine(f, meta.image_to_feature_affine(feat_hw), (w, h),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    fast = align_to_image(f, meta)
    err = np.abs(fast - warped) / np.ptp(f)
    assert fast.shape == (h, w)
    assert err.mean() < 0.002 and err.max() < 0.08  # two bilinear steps differ only near cell centres
    # a fractional content box falls back to the warp itself
    odd = LetterboxMeta(meta.ori_hw, meta.input_hw, tuple(v + 0.5 for v in meta.content_tlhw[:2]) + meta.content_tlhw[2:])
    ref = cv2.warpAffine(f, odd.image_to_feature_affine(feat_hw), (w, h),
                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    assert np.array_equal(align_to_image(f, odd), ref)


def test_detection_labels_most_confident_on_top():
    from mmyolo_vis.vis.visualizer import HeatmapVisualizer as FeatmapVisualizer
    img = np.zeros((200, 300, 3), np.uint8)
    boxes = np.array([[10, 60, 200, 150], [11, 60, 200, 150]], np.float32)  # the same object, two classes
    for scores in ([0.9, 0.3], [0.3, 0.9]):
        out = FeatmapVisualizer.draw_detections(img, boxes, np.array([0, 1]), np.array(scores), ['car', 'truck'],
                                                [(255, 0, 0), (0, 255, 0)])
        band = out[45:60, 12:60].reshape(-1, 3)  # the label band above the boxes
        red, green = int((band == (255, 0, 0)).all(1).sum()), int((band == (0, 255, 0)).all(1).sum())
        assert (red > green) == (scores[0] > scores[1]), (scores, red, green)
    gt = FeatmapVisualizer.draw_detections(img, boxes[:1], np.array([0]), None, ['car'], [(255, 0, 0)])
    assert (gt[60:150, 10] == (255, 0, 0)).all()  # ground truth (no scores) is drawn too
