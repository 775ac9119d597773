"""``CAMVisHook``: the class-map tool's pictures (``classification``: one titled panel per method and class,
over the part of the picture the network saw) of fixed pictures during training of an MMPretrain classifier,
through the runner's visualizer. In a config::

    custom_imports = dict(imports=['mmyolo_vis.hooks.cam'], allow_failed_imports=False)
    custom_hooks = [dict(type='CAMVisHook', method='gradcam', num_images=4)]

The CAMs are built for each drawing and their hooks are taken off the model after it."""
from __future__ import annotations

from mmengine.registry import HOOKS

from ..core.errors import UserError
from .base import MapVisHook


@HOOKS.register_module()
class CAMVisHook(MapVisHook):
    """Class activation maps over fixed pictures, as ``tools/analysis_tools/vis_cam.py`` draws them. Options as
    the tool's (``method``: one name or several, one row each; ``target_layers``; ``target_category``: class
    indices or names, one panel each, default the predicted class; ``vit_like``, ``num_extra_tokens``,
    ``eigen_smooth``, ``batch_size``, ``alpha``) and ``MapVisHook``'s (pictures, event, interval)."""

    default_tag = 'cam'

    def __init__(self, method='gradcam', target_layers=None, target_category=None, vit_like: bool | None = None,
                 num_extra_tokens: int | None = None, eigen_smooth: bool = False, batch_size: int = 32,
                 alpha: float = 0.5, **kwargs):
        from ..classification.methods import method_name
        methods = [method] if isinstance(method, str) else list(method)
        self.methods = [method_name(m) for m in methods]  # a bad name is a UserError here
        if kwargs.get('tag') is None:
            kwargs['tag'] = f'{self.default_tag}_{"_".join(self.methods)}'
        super().__init__(**kwargs)
        if batch_size < 1:
            raise UserError(f'CAMVisHook: batch_size={batch_size}: must be positive')
        if num_extra_tokens is not None and num_extra_tokens < 0:
            raise UserError(f'CAMVisHook: num_extra_tokens={num_extra_tokens}: must be 0 or more')
        self.target_layers = [target_layers] if isinstance(target_layers, str) else target_layers
        self.target_category = [target_category] if isinstance(target_category, (str, int)) else target_category
        self.vit_like, self.num_extra_tokens = vit_like, num_extra_tokens
        self.eigen_smooth, self.batch_size, self.alpha = eigen_smooth, batch_size, alpha

    def build(self, model, runner):
        from ..models.classifier import ClassifierRunner
        from ..vis.visualizer import HeatmapVisualizer
        meta = getattr(runner.visualizer, 'dataset_meta', None) or {}
        classifier = ClassifierRunner.from_model(model, runner.cfg, meta.get('classes'))
        categories = [classifier.category(str(c)) for c in self.target_category] if self.target_category else None
        for cam in self._cams(classifier):  # options checked (layers) before the first iteration
            cam.close()
        return classifier, categories, HeatmapVisualizer(alpha=self.alpha)

    def _cams(self, classifier):
        from ..classification.cam import ClassifierCAM
        return [ClassifierCAM(classifier, m, self.target_layers, self.vit_like, self.num_extra_tokens, False,
                              self.eigen_smooth, self.batch_size) for m in self.methods]

    def draw(self, drawer, image_bgr):
        from ..classification.panels import cams_picture
        classifier, categories, visualizer = drawer
        cams = self._cams(classifier)  # hooks on the model for this picture only
        try:
            return cams_picture(visualizer, image_bgr, cams, categories, self.alpha)
        finally:
            for cam in cams:
                cam.close()
