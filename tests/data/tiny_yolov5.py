# A tiny randomly initialised YOLOv5 for mechanics tests: MMYOLO's own config, narrower and at 160 px.
_base_ = 'mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py'
img_scale = (160, 160)
widen_factor = 0.125
model = dict(
    backbone=dict(widen_factor=widen_factor),
    neck=dict(widen_factor=widen_factor),
    bbox_head=dict(head_module=dict(widen_factor=widen_factor, num_classes=3)),
    test_cfg=dict(score_thr=0.001, max_per_img=20))
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False, pad_val=dict(img=114)),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param')),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline, metainfo=dict(classes=('a', 'b', 'c'))))
val_dataloader = test_dataloader
