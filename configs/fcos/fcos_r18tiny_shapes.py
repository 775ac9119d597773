# The offline demo dense (one-stage) MMDetection detector: FCOS on the generated shapes dataset
# (tools/dataset_converters/make_shapes_dataset.py) at 320 px, trained on the CPU.
# Backbone: MMYOLO's YOLOv5-n CSPDarknet (the small backbone the issue allows; the file name keeps the
# "r18tiny" of the naming), initialised from the shipped YOLOv5-n shapes detector's backbone
# (checkpoints/yolov5_n_shapes.pth, trained on the same train split) so that a few CPU epochs suffice.
# Neck and head are MMDetection's FPN and FCOSHead, trained from scratch.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py'
custom_imports = dict(imports=['mmyolo.models'], allow_failed_imports=False)

data_root = 'data/shapes/'
class_name = ('circle', 'square', 'triangle', 'star')
num_classes = len(class_name)
metainfo = dict(classes=class_name, palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (255, 200, 0)])
img_scale = (320, 320)
max_epochs = 6
base_lr = 1e-3
backbone_checkpoint = 'checkpoints/yolov5_n_shapes.pth'

model = dict(
    data_preprocessor=dict(  # as the YOLOv5 backbone was trained: RGB in [0, 1]
        type='DetDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.], bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='mmyolo.YOLOv5CSPDarknet',
        deepen_factor=0.33,
        widen_factor=0.25,
        out_indices=(2, 3, 4),  # strides 8, 16, 32; 64, 128, 256 channels
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU', inplace=True),
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256], out_channels=64, start_level=0, add_extra_convs=False,
              num_outs=3, relu_before_extra_convs=False),
    bbox_head=dict(
        num_classes=num_classes, in_channels=64, feat_channels=64, stacked_convs=2,
        strides=[8, 16, 32],
        # objects are 6 px to 200 px at the network input
        regress_ranges=((-1, 48), (48, 96), (96, 1e8))),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100))

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
                 data_prefix=dict(img='images/'), filter_cfg=dict(filter_empty_gt=True, min_size=4),
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

train_cfg = dict(max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=0, end=max_epochs, T_max=max_epochs,
         by_epoch=True, convert_to_iter_based=True),
]
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='coco/bbox_mAP_50', rule='greater'),
    logger=dict(type='LoggerHook', interval=10),
    visualization=dict(draw=False))
auto_scale_lr = dict(enable=False, base_batch_size=8)
env_cfg = dict(cudnn_benchmark=False)
