# A schedule with a closed form: linear warm-up over 100 iterations, then cosine to eta_min by epoch 10.
default_scope = 'mmdet'
train_dataloader = dict(batch_size=4, dataset=dict())
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=100)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=900, eta_min=0.001, by_epoch=False, begin=100, end=1000),
]
default_hooks = dict(param_scheduler=dict(type='ParamSchedulerHook'))
