# A small ViT with a class token for the shapes classification set: patch 8 on a 64x64 input (an 8x8 grid
# of patch tokens plus the class token), 4 layers of width 96 (0.3 M parameters).
_base_ = ['./_shapes_cls_base.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer',
                  arch=dict(embed_dims=96, num_layers=4, num_heads=4, feedforward_channels=192),
                  img_size=64, patch_size=8, drop_rate=0.0, drop_path_rate=0.05, out_type='cls_token'),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=4, in_channels=96,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )),
)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=True, begin=0, end=3, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=3, T_max=21, eta_min=1e-5),
]
train_cfg = dict(by_epoch=True, max_epochs=24, val_interval=2)
