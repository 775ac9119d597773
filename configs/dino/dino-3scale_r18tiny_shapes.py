# The offline demo DETR-family MMDetection detector: DINO (3 scales) on the generated shapes dataset
# (tools/dataset_converters/make_shapes_dataset.py) at 320 px, trained on the CPU.
# Backbone: MMYOLO's YOLOv5-n CSPDarknet (the small backbone the issue allows; the file name keeps the
# "r18tiny" of the naming), initialised from the shipped YOLOv5-n shapes detector's backbone
# (checkpoints/yolov5_n_shapes.pth, trained on the same train split). The transformer is shrunk for
# the CPU: strides 16-64, 256-d (the least DINO allows), 2 encoder and 3 decoder layers, 100 queries, 50 denoising queries.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmyolo.models'], allow_failed_imports=False)

data_root = 'data/shapes/'
class_name = ('circle', 'square', 'triangle', 'star')
num_classes = len(class_name)
metainfo = dict(classes=class_name, palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (255, 200, 0)])
img_scale = (320, 320)
max_epochs = 12
base_lr = 3e-4
embed_dims = 256  # mmdet 3.3 DINODecoder encodes reference points with 128 features a side: 256 only
num_levels = 3
backbone_checkpoint = 'checkpoints/yolov5_n_shapes.pth'

model = dict(
    num_queries=100,
    data_preprocessor=dict(  # as the YOLOv5 backbone was trained: RGB in [0, 1]
        type='DetDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.], bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='mmyolo.YOLOv5CSPDarknet',
        deepen_factor=0.33,
        widen_factor=0.25,
        out_indices=(3, 4),  # strides 16, 32; 128, 256 channels
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU', inplace=True),
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')),
    # strides 16, 32 and 64 (a stride-2 convolution): 525 tokens at 320x320 rather than 2100 from stride 8,
    # which made an iteration ~4x slower on the CPU
    neck=dict(in_channels=[128, 256], out_channels=embed_dims, num_outs=num_levels),
    encoder=dict(
        num_layers=2,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_levels=num_levels, num_heads=8),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=512))),
    decoder=dict(
        num_layers=3,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_heads=8),
            cross_attn_cfg=dict(embed_dims=embed_dims, num_levels=num_levels, num_heads=8),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=512))),
    positional_encoding=dict(num_feats=embed_dims // 2),
    bbox_head=dict(num_classes=num_classes, embed_dims=embed_dims),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=50)),
    test_cfg=dict(max_per_img=100))

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/train.json',
                 data_prefix=dict(img='images/'), filter_cfg=dict(filter_empty_gt=False),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/val.json',
                 data_prefix=dict(img='images/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=0, end=max_epochs, T_max=max_epochs,
         by_epoch=True, convert_to_iter_based=True),
]
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='coco/bbox_mAP_50', rule='greater'),
    logger=dict(type='LoggerHook', interval=10),
    visualization=dict(draw=False))
auto_scale_lr = dict(enable=False, base_batch_size=8)
env_cfg = dict(cudnn_benchmark=False)
