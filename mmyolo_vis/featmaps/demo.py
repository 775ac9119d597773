"""The feature-map product: one picture per image, the named layers' outputs captured by forward hooks during
the detector's own forward pass, reduced or top-k'd, aligned over the original image and arranged with the
detections: model runner -> capture -> reduce -> render."""
from __future__ import annotations

import logging

import numpy as np

from ..core.errors import UserError
from ..core.images import swap_rb
from ..models.capture import capture
from ..models.geometry import LetterboxMeta

logger = logging.getLogger('mmyolo_vis')


class FeatmapDemo:
    """Holds the model (built once) and draws one picture per image."""

    def __init__(self, runner, target_layers, channel_reduction='select_max', topk=4, arrangement=(2, 2),
                 alpha=0.5, score_thr=0.3, show_labels=True):
        from ..models.layers import resolve_layer
        from ..vis.visualizer import HeatmapVisualizer
        self.runner = runner
        self.layers = list(target_layers)
        for name in self.layers:  # fail on a bad name before any image is read
            resolve_layer(runner.model, name)
        self.channel_reduction = channel_reduction
        self.topk, self.arrangement = topk, tuple(arrangement)
        self.score_thr = score_thr
        self.show_labels = show_labels
        self.visualizer = HeatmapVisualizer(alpha=alpha)

    def run(self, image_bgr: np.ndarray):
        """-> (picture RGB, captured maps {name: (C, H, W) array}, detections (boxes, labels, scores))."""
        data = self.runner.preprocess(self.runner.prepare([image_bgr]))
        with capture(self.runner.model, self.layers) as cap:
            result = self.runner.predict(data)[0]
        maps = dict(cap.maps)
        meta = LetterboxMeta.from_metainfo(result.metainfo)
        inst = result.pred_instances
        keep = inst.scores > self.score_thr
        dets = tuple(v[keep].cpu().numpy() for v in (inst.bboxes, inst.labels, inst.scores))
        base = self.visualizer.draw_detections(swap_rb(image_bgr), *dets,
                                               classes=self.runner.classes,
                                               palette=self.runner.palette,
                                               show_labels=self.show_labels)
        blocks = []
        for name, t in maps.items():
            if t.ndim != 4:
                logger.warning('%s: output of shape %s is not a (N, C, H, W) feature map; not drawn',
                               name, tuple(t.shape))
                continue
            blocks.append(self.visualizer.draw_featmap(
                t[0], base, meta, self.channel_reduction, self.topk, self.arrangement,
                title=f'{name} {tuple(t.shape[1:])}'))
        if not blocks:
            raise UserError(f'none of the layers {", ".join(self.layers)} outputs a (N, C, H, W) feature map; '
                            'pick others with --preview-model')
        cols = self.arrangement[1] if self.channel_reduction is None and self.topk > 0 else None
        picture = self.visualizer.arrange(blocks, cols)
        return picture, {k: v[0].cpu().numpy() for k, v in maps.items()}, dets
