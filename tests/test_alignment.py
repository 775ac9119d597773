"""The overlay puts each feature cell over the original pixels it came from, with the stock letterboxing
test pipeline: a fixed pooling of the network input, hooked like any layer, must peak on a bright square."""
import numpy as np
import pytest
import torch.nn as nn

from mmyolo_vis.models.geometry import LetterboxMeta, align_to_image


class Pool(nn.Module):
    """Stride-8 average pooling of the normalised input, summed over colour: spatially the input."""

    def forward(self, x):
        return nn.functional.avg_pool2d(x, 8).sum(1, keepdim=True)


@pytest.mark.parametrize('w, h, square', [
    (600, 300, (420, 20, 470, 60)),  # wide: padding above and below
    (240, 500, (20, 400, 70, 450)),  # tall: padding left and right
])
def test_heat_maximum_lands_on_the_square(tiny_runner, w, h, square):
    from mmyolo_vis.featmaps.demo import FeatmapDemo
    model = tiny_runner.model
    model.backbone.probe = Pool()

    def run_probe(module, inputs):
        model.backbone.probe(inputs[0])  # its forward hook captures the pooled input

    handle = model.backbone.stem.register_forward_pre_hook(run_probe)
    try:
        img = np.zeros((h, w, 3), np.uint8)
        x1, y1, x2, y2 = square
        img[y1:y2, x1:x2] = 255
        demo = FeatmapDemo(tiny_runner, ['backbone.probe'], 'squeeze_mean', score_thr=1.1)
        picture, maps, _ = demo.run(img)
        fmap = maps['backbone.probe']
        assert fmap.shape == (1, 20, 20)  # 160 px letterboxed input, stride 8
        data = tiny_runner.preprocess(tiny_runner.prepare([img]))
        meta = LetterboxMeta.from_metainfo(data['data_samples'][0].metainfo)
        assert meta.content_tlhw[0] > 0 or meta.content_tlhw[1] > 0  # the input really is letterboxed
        heat = align_to_image(fmap[0], meta)
        assert heat.shape == (h, w)
        y, x = np.unravel_index(heat.argmax(), heat.shape)
        assert x1 <= x < x2 and y1 <= y < y2, (x, y)
        # the naive placement (map stretched over the image) misses the square
        naive = align_to_image(fmap[0], None, (h, w))
        ny, nx = np.unravel_index(naive.argmax(), naive.shape)
        assert not (x1 <= nx < x2 and y1 <= ny < y2)
        # and the rendered panel is reddest (JET maximum) on the square
        panel = picture[26 + 6:26 + 6 + h, 6:6 + w].astype(int)
        redness = panel[..., 0] - panel[..., 2]
        ry, rx = np.unravel_index(redness.argmax(), redness.shape)
        assert x1 - 8 <= rx < x2 + 8 and y1 - 8 <= ry < y2 + 8
    finally:
        handle.remove()
        del model.backbone.probe
