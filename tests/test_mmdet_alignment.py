"""Maps and boxes stay aligned on MMDetection configs, whose test pipelines place the picture differently from
MMYOLO's letterbox: Resize(keep_ratio) then the data preprocessor's bottom/right padding (RetinaNet, Faster
R-CNN, DINO with no size divisor), or an explicit Pad transform (YOLOX pads to a square, RTMDet to a fixed
size), after which MMDetection's ``img_shape`` is the *padded* size.

Random weights, backbones shrunk and inputs made small for speed: the map under test is a fixed pooling of
the network input (hooked like any layer), so it must peak on a bright square wherever the picture sits."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from mmyolo_vis.models.geometry import LetterboxMeta, align_to_image, to_input_coords

SIDE = 160  # the test pipelines' resize target, shrunk from 416-1333 px


class Pool(nn.Module):
    """Stride-8 average pooling of the normalised input, summed over colour: spatially the input."""

    def forward(self, x):
        return nn.functional.avg_pool2d(x, 8).sum(1, keepdim=True)


def _resize(i=1):
    return {f'test_dataloader.dataset.pipeline.{i}.scale': (SIDE, SIDE)}


CONFIGS = {
    # Resize(keep_ratio) + the preprocessor's padding to a multiple of 32
    'retinanet': ('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', dict(
        _resize(), **{'model.backbone.base_channels': 16, 'model.neck.in_channels': [16, 32, 64, 128],
                      'model.neck.out_channels': 32, 'model.bbox_head.in_channels': 32,
                      'model.bbox_head.feat_channels': 32, 'model.bbox_head.stacked_convs': 1,
                      'model.test_cfg.score_thr': 0.0})),  # initialised heads score 0.01
    'faster_rcnn': ('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', dict(
        _resize(), **{'model.backbone.depth': 18, 'model.backbone.base_channels': 16,
                      'model.backbone.init_cfg': None, 'model.neck.in_channels': [16, 32, 64, 128],
                      'model.neck.out_channels': 32, 'model.rpn_head.in_channels': 32,
                      'model.rpn_head.feat_channels': 32,
                      'model.roi_head.bbox_roi_extractor.out_channels': 32,
                      'model.roi_head.bbox_head.in_channels': 32,
                      'model.roi_head.bbox_head.fc_out_channels': 64,
                      'model.test_cfg.rcnn.score_thr': 0.0})),  # random weights score ~1/81
    # Resize + Pad(pad_to_square, 114) / Pad(size=(SIDE, SIDE), 114): img_shape is the padded size
    'yolox': ('mmdet::yolox/yolox_tiny_8xb8-300e_coco.py', dict(_resize(), **{'model.test_cfg.score_thr': 0.0})),
    'rtmdet': ('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', dict(
        _resize(), **{'test_dataloader.dataset.pipeline.2.size': (SIDE, SIDE), 'model.test_cfg.score_thr': 0.0,
                      'model.test_cfg.min_bbox_size': -1})),  # random boxes can be tiny
    # Resize(keep_ratio), no size divisor (pad_size_divisor=1)
    'dino': ('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', dict(
        _resize(), **{'model.backbone.depth': 18, 'model.backbone.init_cfg': None,
                      'model.neck.in_channels': [128, 256, 512], 'model.num_queries': 30,
                      'model.encoder.num_layers': 1, 'model.decoder.num_layers': 1})),
}


@pytest.fixture(scope='module', params=list(CONFIGS))
def mmdet_runner(request):
    from mmyolo_vis.models.detector import ModelRunner
    config, options = CONFIGS[request.param]
    torch.manual_seed(0)
    runner = ModelRunner(config, None, 'cpu', cfg_options=options)
    # without a checkpoint the runner leaves the weights as built; DINO's level embedding is then
    # uninitialised memory (torch.Tensor(...)), now and then NaN: initialise as MMEngine would
    runner.model.init_weights()
    runner.model.probe = Pool()

    def run_probe(module, inputs):  # returns None: the backbone's input is left as it is
        runner.model.probe(inputs[0])  # its forward hook captures the pooled input

    handle = runner.model.backbone.register_forward_pre_hook(run_probe)
    yield request.param, runner
    handle.remove()


def _picture(w, h, square):
    img = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = square
    img[y1:y2, x1:x2] = 255
    return img


@pytest.mark.parametrize('w, h, square', [
    (300, 150, (220, 100, 260, 140)),  # wide: the input is padded below
    (150, 300, (100, 220, 140, 260)),  # tall: the input is padded on the right
])
def test_featmap_peaks_on_the_square(mmdet_runner, w, h, square):
    from mmyolo_vis.featmaps.demo import FeatmapDemo
    name, runner = mmdet_runner
    img = _picture(w, h, square)
    x1, y1, x2, y2 = square
    demo = FeatmapDemo(runner, ['probe'], 'squeeze_mean', score_thr=1.1)
    picture, maps, _ = demo.run(img)
    data = runner.preprocess(runner.prepare([img]))
    meta = LetterboxMeta.from_metainfo(data['data_samples'][0].metainfo)
    # keep-ratio resize to SIDE on the long side; the picture at the top left of the input
    long_side = max(w, h)
    assert meta.content_tlhw == (0.0, 0.0, round(h * SIDE / long_side), round(w * SIDE / long_side)), name
    assert meta.input_hw[0] >= meta.content_tlhw[2] and meta.input_hw[1] >= meta.content_tlhw[3]
    if name in ('yolox', 'rtmdet'):  # Pad made a square input, and img_shape says so
        assert meta.input_hw == (SIDE, SIDE)
        assert tuple(data['data_samples'][0].metainfo['img_shape'][:2]) == (SIDE, SIDE)
    fmap = maps['probe']
    assert fmap.shape == (1, meta.input_hw[0] // 8, meta.input_hw[1] // 8)
    heat = align_to_image(fmap[0], meta)
    assert heat.shape == (h, w)
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    assert x1 <= x < x2 and y1 <= y < y2, (name, x, y)
    # the heat over the square is its plateau: its middle is within 10% of the maximum
    assert heat[(y1 + y2) // 2, (x1 + x2) // 2] >= 0.9 * heat.max()
    # the rendered panel (26 px title band, 6 px margin) is reddest (JET maximum) on the square
    panel = picture[26 + 6:26 + 6 + h, 6:6 + w].astype(int)
    redness = panel[..., 0] - panel[..., 2]
    ry, rx = np.unravel_index(redness.argmax(), redness.shape)
    assert x1 - 8 <= rx < x2 + 8 and y1 - 8 <= ry < y2 + 8, (name, rx, ry)


def test_boxes_are_in_original_pixels(mmdet_runner):
    """The runner's boxes are in the original picture's pixels; ``to_input_coords`` takes them back to the
    network input exactly where the model put them (its own prediction without rescaling)."""
    name, runner = mmdet_runner
    img = _picture(300, 150, (220, 100, 260, 140))
    data = runner.preprocess(runner.prepare([img]))
    meta = LetterboxMeta.from_metainfo(data['data_samples'][0].metainfo)
    with torch.no_grad():
        on_input = runner.model.predict(data['inputs'], data['data_samples'], rescale=False)[0].pred_instances
        on_picture = runner.predict(runner.preprocess(runner.prepare([img])))[0].pred_instances
    assert len(on_input) > 0 and len(on_picture) > 0
    top_in, top_pic = int(on_input.scores.argmax()), int(on_picture.scores.argmax())
    assert float(on_input.scores[top_in]) == pytest.approx(float(on_picture.scores[top_pic]), abs=1e-5)
    back = to_input_coords(on_picture.bboxes[top_pic:top_pic + 1].numpy(), meta)[0]
    expected = on_input.bboxes[top_in].numpy()
    # clipping happens on either side of the rescale; compare where the box is inside the picture
    ch, cw = meta.content_tlhw[2:]
    inside = np.minimum(expected, [cw, ch, cw, ch])
    np.testing.assert_allclose(np.minimum(back, [cw, ch, cw, ch]), inside, atol=0.05, err_msg=name)
    scale = SIDE / 300
    assert meta.content_tlhw[2:] == (round(150 * scale), round(300 * scale))


def test_sliced_boxes_land_where_each_patch_put_them(mmdet_runner):
    """large_image_demo's sliced inference on an MMDetection model: batched patches give the boxes of one
    patch at a time, shifted by the patch's corner into the large picture's pixels."""
    from mmyolo_vis.large.sliced import Detections, SlicedPredictor
    name, runner = mmdet_runner
    if name in ('yolox', 'rtmdet'):  # their Pad placement is covered above; random heads of these put
        pytest.skip('every box far outside the patch, with size 0: nothing to follow')
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (200, 330, 3), dtype=np.uint8)
    one = SlicedPredictor(runner, patch_size=128, overlap=0.25, batch_size=1, score_thr=0.0)
    three = SlicedPredictor(runner, patch_size=128, overlap=0.25, batch_size=3, score_thr=0.0)
    read = lambda x1, y1, x2, y2: big[y1:y2, x1:x2]  # noqa: E731
    dets1, windows = one.predict_patches(read, 200, 330)
    dets3, _ = three.predict_patches(read, 200, 330)
    assert len(windows) > 3 and len(dets1) == len(dets3)
    np.testing.assert_allclose(np.sort(dets3.scores), np.sort(dets1.scores), atol=1e-4, err_msg=name)
    assert len(dets1) > 0
    # the last patch on its own, shifted by its corner
    x1, y1, x2, y2 = windows[-1]
    alone = Detections.from_instances(runner.infer([np.ascontiguousarray(big[y1:y2, x1:x2])])[0].pred_instances)
    b = alone.boxes  # random weights: keep the boxes that clipping leaves as they are (some are degenerate)
    fine = (b[:, 0] >= 0) & (b[:, 1] >= 0) & (b[:, 2] <= x2 - x1) & (b[:, 3] <= y2 - y1) & \
        (b[:, 2] - b[:, 0] > 1) & (b[:, 3] - b[:, 1] > 1)
    assert fine.any(), name
    best = int(np.flatnonzero(fine)[alone.scores[fine].argmax()])
    expected = alone.boxes[best] + np.array([x1, y1, x1, y1], np.float32)
    hit = np.abs(dets1.boxes - expected).max(1) < 1e-3
    assert hit.any() and np.isclose(dets1.scores[hit], alone.scores[best], atol=1e-5).any(), name
