"""``FeatmapVisHook``: the feature-map demo's pictures (``featmaps.demo.FeatmapDemo``) of fixed pictures during
training, through the runner's visualizer. In a config::

    custom_imports = dict(imports=['mmyolo_vis.hooks.featmap'], allow_failed_imports=False)
    custom_hooks = [dict(type='FeatmapVisHook', target_layers=['neck'], num_images=4)]
"""
from __future__ import annotations

from mmengine.registry import HOOKS

from ..core.errors import UserError
from ..vis.reduce import check_display, parse_channel_reduction
from .base import MapVisHook, dataset_meta_of


@HOOKS.register_module()
class FeatmapVisHook(MapVisHook):
    """Feature maps of named layers over fixed pictures, with the detections, as ``demo/featmap_vis_demo.py``
    draws them. Options as the demo's (``target_layers``, ``channel_reduction``, ``topk``, ``arrangement``,
    ``alpha``, ``score_thr``, ``show_labels``) and ``MapVisHook``'s (pictures, event, interval)."""

    default_tag = 'featmap'

    def __init__(self, target_layers=('backbone',), channel_reduction: str | None = 'select_max', topk: int = 4,
                 arrangement=(2, 2), alpha: float = 0.5, score_thr: float = 0.3, show_labels: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_layers, str):
            target_layers = [target_layers]
        if not target_layers:
            raise UserError('FeatmapVisHook: target_layers is empty: name at least one layer')
        self.target_layers = list(target_layers)
        self.channel_reduction = parse_channel_reduction(channel_reduction)
        self.arrangement = tuple(arrangement)
        check_display(1, self.channel_reduction, topk, self.arrangement)
        self.topk, self.alpha, self.score_thr, self.show_labels = topk, alpha, score_thr, show_labels

    def build(self, model, runner):
        from ..featmaps.demo import FeatmapDemo
        from ..models.detector import ModelRunner
        detector = ModelRunner.from_model(model, runner.cfg, dataset_meta_of(runner, model))
        return FeatmapDemo(detector, self.target_layers, self.channel_reduction, self.topk, self.arrangement,
                           self.alpha, self.score_thr, self.show_labels)

    def draw(self, drawer, image_bgr):
        return drawer.run(image_bgr)[0]
