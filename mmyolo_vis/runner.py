"""Model runner: build a detector from an MMEngine config, load its checkpoint, preprocess images
with the config's own test pipeline (keeping the letterbox meta) and run it."""
from __future__ import annotations

import copy
import logging
import os

import numpy as np
import torch

from .checkpoint import fetch, load_checkpoint_file, load_into
from .errors import UserError, first_line

logger = logging.getLogger('mmyolo_vis')


def resolve_device(device: str | None) -> str:
    """'cpu', 'cuda' or 'cuda:N'; None picks cuda:0 when a GPU is there, else cpu."""
    if device is None:
        return 'cuda:0' if torch.cuda.is_available() else 'cpu'
    if device == 'cpu':
        return device
    if device == 'cuda' or (device.startswith('cuda:') and device[5:].isdigit()):
        if not torch.cuda.is_available():
            raise UserError(f'--device {device}: no CUDA device is available here; use --device cpu')
        index = int(device[5:]) if ':' in device else 0
        if index >= torch.cuda.device_count():
            raise UserError(f'--device {device}: only {torch.cuda.device_count()} CUDA device(s) here')
        return f'cuda:{index}'
    raise UserError(f'--device {device!r}: use cpu, cuda or cuda:N')


CONFIG_PACKAGES = ('mmyolo', 'mmdet', 'mmpretrain')


def packaged_config(config: str) -> str | None:
    """``configs/yolov5/x.py`` (as OpenMMLab's docs write it, from a clone of MMYOLO) -> ``mmyolo::yolov5/x.py``
    when that file is one of the installed packages' configs (MMYOLO first), else None."""
    import importlib.util
    path = '/' + config.replace(os.sep, '/')
    if '/configs/' not in path:
        return None
    rel = path.rsplit('/configs/', 1)[1]
    for package in CONFIG_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        if os.path.isfile(os.path.join(spec.submodule_search_locations[0], '.mim', 'configs', rel)):
            return f'{package}::{rel}'
    return None


def load_config(config: str, cfg_options: dict | None = None):
    """An MMEngine Config from a local file or a packaged one (``mmyolo::yolov5/...py``). A ``configs/...``
    path that is not here but is a packaged config's is taken from the package, and the log says so."""
    from mmengine.config import Config
    if '::' not in config and not os.path.isfile(config):
        packaged = packaged_config(config)
        if packaged is not None:
            logger.info('%s is not here: using the installed package\'s config %s', config, packaged)
            config = packaged
    try:
        if '::' in config and not os.path.isfile(config):
            # Config.fromfile does not resolve the "package::" prefix; mmengine.hub does.
            from mmengine.hub import get_config
            cfg = get_config(config, pretrained=False)
        else:
            if not os.path.isfile(config):
                raise UserError(f'{config}: config file not found; give a .py config or mmyolo::path/to/config.py')
            cfg = Config.fromfile(config)
    except UserError:
        raise
    except Exception as e:  # syntax errors, missing bases, unknown packages
        raise UserError(f'{config}: cannot load the config ({first_line(e)})') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


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
        from mmengine.dataset import Compose
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import DefaultScope, init_default_scope
        from mmdet.registry import MODELS

        from . import quiet
        quiet.silence_library_noise()
        self.device = resolve_device(device)
        self.cfg = load_config(config, cfg_options)
        scope = self.cfg.get('default_scope', 'mmdet')
        init_default_scope(scope)
        self.scope = scope
        self.cfg.model.setdefault('backbone', {}).pop('init_cfg', None)  # never fetch pretrained weights
        self.tta = tta
        if tta:  # as MMYOLO's demos do: wrap the model in the config's TTA model, use the TTA pipeline
            if 'tta_model' not in self.cfg or 'tta_pipeline' not in self.cfg:
                raise UserError(f'{config}: the config defines no tta_model / tta_pipeline; drop --tta')
            from mmengine.config import ConfigDict
            self.cfg.model = ConfigDict(**self.cfg.tta_model, module=self.cfg.model)
            self.cfg.test_dataloader.dataset.pipeline = self.cfg.tta_pipeline
        ckpt = None
        if checkpoint is not None:  # read the file before the (slower) build, so a bad one fails fast
            ckpt = load_checkpoint_file(fetch(checkpoint), trust_checkpoint)
        try:
            with DefaultScope.overwrite_default_scope(scope):
                model = MODELS.build(self.cfg.model)
        except Exception as e:
            raise UserError(f'{config}: cannot build the model ({first_line(e)}); '
                            'check --cfg-options') from None
        model = revert_sync_batchnorm(model)
        meta = {}
        if ckpt is not None:
            load_into(model.module if tta else model, ckpt, checkpoint)
            meta = ckpt.get('meta', {}) or {}
        if deploy:  # fuse re-parameterisable blocks (RepVGG and the like), as MMYOLO's --deploy
            from mmyolo.utils import switch_to_deploy
            switch_to_deploy(model)
        model.dataset_meta = _dataset_meta(self.cfg, meta)
        model.cfg = self.cfg
        self.model = model.to(self.device).eval()
        if self.device.startswith('cuda'):
            from .nms import install_nms_fallback
            install_nms_fallback()
        with DefaultScope.overwrite_default_scope(scope):
            self.pipeline = Compose(test_pipeline_cfg(self.cfg))

    @property
    def classes(self) -> tuple:
        return tuple(self.model.dataset_meta.get('classes', ()))

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
        from mmengine.registry import DefaultScope
        for img in images:
            self.check_size(img)
        with DefaultScope.overwrite_default_scope(self.scope):
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
        from mmengine.registry import DefaultScope
        results = []
        for img in images:  # TTA batches hold the augmented views of one image
            with DefaultScope.overwrite_default_scope(self.scope):
                data = self.pipeline(dict(img=img, img_id=0))
            data = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
            with torch.no_grad():
                results.append(self.model.test_step(data)[0])
        return results
