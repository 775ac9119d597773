"""The detector runner: a detector built from an MMEngine config and its checkpoint (``models.build``), images
through the config's own test pipeline (keeping the letterbox meta), and the forward pass."""
from __future__ import annotations

import copy

import numpy as np
import torch

from ..core.errors import UserError
from .build import build_model, in_scope


def test_pipeline_cfg(cfg) -> list:
    """The config's test pipeline, fed from an in-memory image and without annotation loading."""
    from mmdet.utils import get_test_pipeline_cfg
    pipeline = copy.deepcopy(list(get_test_pipeline_cfg(cfg)))
    pipeline = [t for t in pipeline if not str(t['type']).endswith('LoadAnnotations')]
    if pipeline and 'LoadImage' in str(pipeline[0]['type']):
        pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
    else:
        pipeline.insert(0, dict(type='mmdet.LoadImageFromNDArray'))
    return pipeline


def _dataset_meta(cfg, ckpt_meta: dict) -> dict:
    if 'dataset_meta' in ckpt_meta:
        return {k.lower(): v for k, v in ckpt_meta['dataset_meta'].items()}
    from mmdet.registry import DATASETS
    try:  # the config's own class names (lazily: no annotation file needed)
        ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
        ds_cfg['lazy_init'] = True
        meta = dict(DATASETS.build(ds_cfg).metainfo)
        if meta.get('classes'):
            return meta
    except Exception:  # a dataset that cannot even be built lazily: fall back to COCO below
        pass
    from mmdet.evaluation import get_classes
    return {'classes': get_classes('coco')}


class ModelRunner:
    """Builds the detector once; turns BGR images into the network's input and results.

    ``prepare`` returns the collated batch whose data samples hold the letterbox meta
    (``ori_shape``, ``img_shape``, ``scale_factor``, ``pad_param``); ``predict`` runs the model.
    """

    def __init__(self, config: str, checkpoint: str | None, device: str | None = 'cpu',
                 cfg_options: dict | None = None, trust_checkpoint: bool = False, tta: bool = False,
                 deploy: bool = False):
        from mmdet.registry import MODELS
        from mmengine.dataset import Compose

        def with_tta(cfg):  # as MMYOLO's demos do: wrap the model in the config's TTA model, use the TTA pipeline
            if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
                raise UserError(f'{config}: the config defines no tta_model / tta_pipeline; drop --tta')
            from mmengine.config import ConfigDict
            cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
            cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline

        def finish(model, cfg, meta):
            if deploy:  # fuse re-parameterisable blocks (RepVGG and the like), as MMYOLO's --deploy
                from mmyolo.utils import switch_to_deploy
                switch_to_deploy(model)
            model.dataset_meta = _dataset_meta(cfg, meta)
            model.cfg = cfg

        def is_detector(model):
            from mmdet.models.detectors import BaseDetector
            if not isinstance(getattr(model, 'module', model), BaseDetector):
                raise UserError(f'{config}: not a detector ({type(model).__name__}); give an MMYOLO / MMDetection '
                                'detector config (for classifiers use tools/analysis_tools/vis_cam.py)')

        self.tta = tta
        built = build_model(config, checkpoint, device, cfg_options, trust_checkpoint, registry=MODELS,
                            default_scope='mmdet', what='detector', hint='; check --cfg-options',
                            adapt_cfg=with_tta if tta else None, weights_of=(lambda m: m.module) if tta else None,
                            check=is_detector, finish=finish)
        self.cfg, self.scope, self.model, self.device = built.cfg, built.scope, built.model, built.device
        self.dataset_meta = self.model.dataset_meta
        if self.device.startswith('cuda'):
            from .nms import install_nms_fallback
            install_nms_fallback()
        with in_scope(self.scope):
            self.pipeline = Compose(test_pipeline_cfg(self.cfg))

    @classmethod
    def from_model(cls, model, cfg, dataset_meta: dict | None = None) -> 'ModelRunner':
        """A runner over a detector built elsewhere (a training run's, by MMEngine's Runner): ``cfg``'s test
        pipeline in its default scope, the model as it is. Nothing is set on the model, nor is it moved or put
        in eval mode: its owner keeps its state (the training hooks put it in eval mode to draw)."""
        from mmengine.dataset import Compose
        self = cls.__new__(cls)
        self.cfg, self.model, self.tta = cfg, model, False
        self.scope = cfg.get('default_scope', 'mmdet')
        self.device = str(next(model.parameters()).device)
        self.dataset_meta = dict(dataset_meta or {})
        with in_scope(self.scope):
            self.pipeline = Compose(test_pipeline_cfg(cfg))
        return self

    @property
    def classes(self) -> tuple:
        return tuple(self.dataset_meta.get('classes', ()))

    @property
    def palette(self):
        return self.dataset_meta.get('palette')

    def input_scale(self) -> tuple[int, int] | None:
        """(width, height) of the first resize of the test pipeline, if it has one."""
        for t in test_pipeline_cfg(self.cfg):
            scale = t.get('scale')
            if 'Resize' in str(t.get('type')) and scale is not None:
                return (scale, scale) if isinstance(scale, int) else tuple(scale)
        return None

    def check_size(self, image: np.ndarray):
        """Refuse a picture that the test pipeline's keep-ratio resize would shrink below one pixel."""
        h, w = image.shape[:2]
        scale = self.input_scale()
        if scale is None:
            return
        ratio = min(scale[0] / w, scale[1] / h)
        if min(h, w) * ratio < 1:
            raise UserError(f'{w}x{h} is too thin for the model: resized to its {scale[0]}x{scale[1]} input, the '
                            f'short side would be {min(h, w) * ratio:.2g} px; crop or pad the picture')

    def prepare(self, images: list[np.ndarray]) -> dict:
        """Run the test pipeline on BGR uint8 images and collate them (on the CPU)."""
        from mmengine.dataset import pseudo_collate
        for img in images:
            self.check_size(img)
        with in_scope(self.scope):
            items = [self.pipeline(dict(img=img, img_id=i)) for i, img in enumerate(images)]
        return pseudo_collate(items)

    def preprocess(self, batch: dict) -> dict:
        """The data preprocessor: normalised input tensor on the device, meta updated."""
        return self.model.data_preprocessor(batch, False)

    @torch.no_grad()
    def predict(self, data: dict) -> list:
        """Preprocessed data -> DetDataSamples with ``pred_instances`` in original-image pixels."""
        return self.model(**data, mode='predict')

    def infer(self, images: list[np.ndarray]) -> list:
        """BGR images -> DetDataSamples: one batched forward pass (one per image with TTA)."""
        if not self.tta:
            return self.predict(self.preprocess(self.prepare(images)))
        results = []
        for img in images:  # TTA batches hold the augmented views of one image
            with in_scope(self.scope):
                data = self.pipeline(dict(img=img, img_id=0))
            data = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
            with torch.no_grad():
                results.append(self.model.test_step(data)[0])
        return results
