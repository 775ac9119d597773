"""Small randomly initialised MMDetection detectors of every kind, built from MMDetection's own configs with the
backbone shrunk (ResNet-18 at a quarter width, widths after it an eighth, one transformer layer, few queries
and proposals) and a 160 px test pipeline (at 96 px the GroupNorm of FCOS's 1x1 P7 fails), so that the box-map mechanics run in seconds."""
import numpy as np
import torch

CONFIGS = {
    'retinanet': 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    'fcos': 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'atss': 'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'gfl': 'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    'tood': 'mmdet::tood/tood_r50_fpn_1x_coco.py',
    'rtmdet': 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    'yolox': 'mmdet::yolox/yolox_tiny_8xb8-300e_coco.py',
    'faster_rcnn': 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'mask_rcnn': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'cascade_rcnn': 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    'detr': 'mmdet::detr/detr_r50_8xb2-150e_coco.py',
    'conditional_detr': 'mmdet::conditional_detr/conditional-detr_r50_8xb2-50e_coco.py',
    'dab_detr': 'mmdet::dab_detr/dab-detr_r50_8xb2-50e_coco.py',
    'deformable_detr': 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
    'dino': 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
}
OTHER = {'fovea': 'mmdet::foveabox/fovea_r50_fpn_4xb4-1x_coco.py'}  # a head of no kind here
KINDS = {name: 'two-stage' if 'rcnn' in name else 'detr' if 'detr' in name or name == 'dino' else 'dense'
         for name in CONFIGS}
WIDTHS = ('in_channels', 'feat_channels', 'out_channels', 'embed_dims', 'fc_out_channels', 'conv_out_channels',
          'feedforward_channels', 'num_feats')
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 160), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]


def small_options(name: str) -> dict:
    """--cfg-options that shrink MMDetection's config ``name`` and make a random model give boxes."""
    from mmyolo_vis.models.config import load_config
    cfg = load_config(CONFIGS.get(name) or OTHER[name])
    model = cfg.model
    kind = KINDS.get(name)
    # DINO's decoder encodes reference points into 2 x 256 features whatever its width: the transformers keep
    # their widths (on a 160 px picture they see few tokens) and lose their feed-forward width and layers
    widths = ('feedforward_channels',) if kind == 'detr' else WIDTHS
    opts = {'test_dataloader.dataset.pipeline': PIPELINE, 'model.backbone.init_cfg': None}
    resnet = model.backbone.type == 'ResNet' and model.backbone.depth == 50
    if resnet:
        opts.update({'model.backbone.depth': 18, 'model.backbone.base_channels': 16})
        neck_in = model.neck.in_channels
        opts['model.neck.in_channels'] = [c // 16 for c in neck_in] if isinstance(neck_in, list) else neck_in // 16

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            key = f'{path}.{k}'
            if key.startswith(('model.backbone', 'model.neck.in_channels', 'model.data_preprocessor')):
                continue
            if k == 'num_classes':  # three classes: a head's class maps are a fraction of COCO's 80
                opts[key] = 3
            elif resnet and k in widths and isinstance(v, int):
                opts[key] = max(8, v // 8)
            elif resnet and k == 'stacked_convs' and isinstance(v, int) and v > 1:
                opts[key] = 1
            elif k == 'num_layers' and isinstance(v, int) and v > 1:
                opts[key] = 1
            elif k == 'num_queries':
                opts[key] = 30
            else:
                walk(v, key)
    walk(model, 'model')
    if kind in ('dense', None):
        opts.update({'model.test_cfg.score_thr': 0.0, 'model.test_cfg.nms_pre': 200})
    elif kind == 'two-stage':
        opts.update({'model.test_cfg.rpn.nms_pre': 200, 'model.test_cfg.rpn.max_per_img': 20,
                     'model.test_cfg.rcnn.score_thr': 0.0})
    elif kind == 'detr':
        opts['model.test_cfg.max_per_img'] = 20
    return opts


def small_runner(name: str):
    from mmyolo_vis.models.detector import ModelRunner
    torch.manual_seed(0)
    runner = ModelRunner(CONFIGS.get(name) or OTHER[name], None, 'cpu', small_options(name))
    runner.model.init_weights()
    with torch.no_grad():  # some heads start with zero class weights: every score equal, every gradient zero
        for p in runner.model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return runner


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (120, 200, 3), dtype=np.uint8)
