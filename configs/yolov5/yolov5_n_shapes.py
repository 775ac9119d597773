# The project's offline demo detector: MMYOLO's YOLOv5-n (v6.1) trained on the generated shapes
# dataset (tools/dataset_converters/make_shapes_dataset.py) at 320x320, on the CPU.
_base_ = 'mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py'

data_root = 'data/shapes/'
class_name = ('circle', 'square', 'triangle', 'star')
num_classes = len(class_name)
metainfo = dict(
    classes=class_name,
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (255, 200, 0)])

img_scale = (320, 320)  # width, height
# Shapes are roughly as wide as tall; sizes span 6 px to 200 px at the network input.
anchors = [
    [(8, 8), (12, 12), (18, 18)],  # P3/8
    [(26, 26), (38, 38), (54, 54)],  # P4/16
    [(76, 76), (108, 108), (160, 160)],  # P5/32
]
max_epochs = 24
close_mosaic_epochs = 3
train_batch_size_per_gpu = 8
train_num_workers = 1
base_lr = 0.01
affine_scale = 0.5
num_det_layers = 3

model = dict(
    bbox_head=dict(
        head_module=dict(num_classes=num_classes),
        prior_generator=dict(base_sizes=anchors),
        loss_cls=dict(loss_weight=0.5 * (num_classes / 80 * 3 / num_det_layers)),
        loss_obj=dict(loss_weight=1.0 * ((img_scale[0] / 640)**2 * 3 / num_det_layers))),
    test_cfg=dict(score_thr=0.001, nms=dict(type='nms', iou_threshold=0.65), max_per_img=300))

pre_transform = _base_.pre_transform
last_transform = [
    dict(type='YOLOv5HSVRandomAug'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'flip', 'flip_direction')),
]
# MMYOLO's pipeline less Albu (albumentations is not a dependency here).
train_pipeline = [
    *pre_transform,
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0, pre_transform=pre_transform),
    dict(type='YOLOv5RandomAffine',
         max_rotate_degree=0.0,
         max_shear_degree=0.0,
         scaling_ratio_range=(1 - affine_scale, 1 + affine_scale),
         border=(-img_scale[0] // 2, -img_scale[1] // 2),
         border_val=(114, 114, 114)),
    *last_transform,
]
# The last epochs see whole letterboxed images, as at test time.
train_pipeline_stage2 = [
    *pre_transform,
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=True, pad_val=dict(img=114.0)),
    dict(type='YOLOv5RandomAffine',
         max_rotate_degree=0.0,
         max_shear_degree=0.0,
         scaling_ratio_range=(1 - affine_scale, 1 + affine_scale),
         border_val=(114, 114, 114)),
    *last_transform,
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False, pad_val=dict(img=114)),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param')),
]

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    persistent_workers=True,
    pin_memory=False,
    # mmengine adds `_scope_` to every typed dict of a `mmyolo::` base, and its dataloader builder
    # passes it on to the collate function, which rejects it: restate the collate_fn plainly.
    collate_fn=dict(_delete_=True, type='yolov5_collate'),
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    pin_memory=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/'),
        pipeline=test_pipeline,
        batch_shapes_cfg=dict(img_size=img_scale[0])))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=base_lr, batch_size_per_gpu=train_batch_size_per_gpu))
default_hooks = dict(
    param_scheduler=dict(max_epochs=max_epochs, warmup_epochs=2, warmup_mim_iter=300),
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='coco/bbox_mAP_50', rule='greater'),
    logger=dict(type='LoggerHook', interval=25),
    visualization=dict(type='mmdet.DetVisualizationHook', draw=False))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True,
         strict_load=False, priority=49),
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=max_epochs - close_mosaic_epochs,
         switch_pipeline=train_pipeline_stage2),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=3,
                 dynamic_intervals=[(max_epochs - close_mosaic_epochs, 1)])
env_cfg = dict(cudnn_benchmark=False)
