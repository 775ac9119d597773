# A small CNN for the shapes classification set: MMPretrain's CIFAR ResNet-18 (3x3 stem, no max-pool) at a
# quarter of its width (16-128 channels, 0.7 M parameters), 64x64 input, final map 8x8.
_base_ = ['./_shapes_cls_base.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16, num_stages=4,
                  out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=128,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )),
)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=13, eta_min=1e-5),
]
train_cfg = dict(by_epoch=True, max_epochs=14, val_interval=1)
