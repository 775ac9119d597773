"""``BoxAMVisHook``: the box-map demo's pictures (``detection.boxam``: one map per detected box, combined, under
the detections) of fixed pictures during training, through the runner's visualizer. In a config::

    custom_imports = dict(imports=['mmyolo_vis.hooks.boxam'], allow_failed_imports=False)
    custom_hooks = [dict(type='BoxAMVisHook', method='gradcam', num_images=4)]

The CAM is built for each drawing and its hooks are taken off the model after it: the training's forward
passes never feed it."""
from __future__ import annotations

from mmengine.registry import HOOKS

from ..core.errors import UserError
from ..detection.boxam import check_settings
from ..detection.cams import METHODS
from .base import MapVisHook, dataset_meta_of


@HOOKS.register_module()
class BoxAMVisHook(MapVisHook):
    """Box activation maps of a chosen ``method`` over fixed pictures, as ``demo/boxam_vis_demo.py`` draws them.
    Options as the demo's (``method``, ``target_layers``, ``score_thr``, ``topk``, ``classes``, ``norm_in_bbox``,
    ``alpha``, ``show_labels``, ``eigen_smooth``, ``batch_size``, ``ratio_channels_to_ablate``, ``num_masks``)
    and ``MapVisHook``'s (pictures, event, interval). Early in training a picture may have no box above
    ``score_thr``: it is then drawn, as by the demo, with no map."""

    default_tag = 'boxam'

    def __init__(self, method: str = 'gradcam', target_layers=None, score_thr: float = 0.3, topk: int = 10,
                 classes=None, norm_in_bbox: bool = False, alpha: float = 0.5, show_labels: bool = True,
                 eigen_smooth: bool = False, batch_size: int = 32, ratio_channels_to_ablate: float = 1.0,
                 num_masks: int = 1000, **kwargs):
        if 'tag' not in kwargs or kwargs['tag'] is None:
            kwargs['tag'] = f'{self.default_tag}_{method}'
        super().__init__(**kwargs)
        if method not in METHODS:
            raise UserError(f'BoxAMVisHook: method={method!r}: use one of {", ".join(METHODS)}')
        check_settings(ratio_channels_to_ablate, batch_size, num_masks, topk)
        self.method = method
        self.target_layers = [target_layers] if isinstance(target_layers, str) else target_layers
        self.score_thr, self.topk, self.classes = score_thr, topk, classes
        self.norm_in_bbox, self.alpha, self.show_labels = norm_in_bbox, alpha, show_labels
        self.eigen_smooth, self.batch_size = eigen_smooth, batch_size
        self.ratio, self.num_masks = ratio_channels_to_ablate, num_masks
        self._said: set[str] = set()

    def build(self, model, runner):
        from ..detection.boxam import BoxAMRenderer
        from ..models.detector import ModelRunner
        detector = ModelRunner.from_model(model, runner.cfg, dataset_meta_of(runner, model))
        renderer = BoxAMRenderer(detector.classes, detector.palette, self.alpha, self.show_labels)
        self._boxam(detector).close()  # options checked (layers, classes, family) before the first iteration
        return detector, renderer

    def _boxam(self, detector):
        from ..detection.boxam import BoxAM
        boxam = BoxAM(detector, self.method, self.target_layers, self.score_thr, self.topk, self.classes,
                      self.batch_size, self.ratio, self.num_masks, False, self.eigen_smooth)
        boxam.said = self._said  # a note is given once per training run, not once per drawing
        return boxam

    def draw(self, drawer, image_bgr):
        detector, renderer = drawer
        boxam = self._boxam(detector)  # hooks on the model for this picture only
        try:
            return renderer.result_picture(image_bgr, boxam.run(image_bgr), self.norm_in_bbox)
        finally:
            boxam.close()
