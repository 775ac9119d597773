"""Simulate the learning-rate / momentum / weight-decay schedule a config really produces.

A toy model with a conv and a batch norm (so that YOLO-style optimizer constructors make their usual
bias / norm / conv-weight parameter groups) is trained for zero work by MMEngine's own Runner, with the
config's optimizer, ``param_scheduler`` entries and scheduler hooks (YOLOv5ParamSchedulerHook and
the like); a hook records every parameter group's value at every iteration.
"""
from __future__ import annotations

import copy
import math
import tempfile

import torch.nn as nn

from ..core.errors import UserError, first_line

PARAMETERS = {'lr': 'lr', 'momentum': 'momentum', 'wd': 'weight_decay'}


def _group_value(group: dict, parameter: str) -> float:
    if parameter == 'momentum' and 'momentum' not in group and 'betas' in group:
        return float(group['betas'][0])  # Adam-style optimizers
    return float(group.get(PARAMETERS[parameter], float('nan')))


def simulate(cfg, parameter: str = 'lr', dataset_size: int | None = None, ngpus: int = 1):
    """Returns (values: list of per-iteration lists, one value per param group, iters_per_epoch).

    ``dataset_size`` skips building the dataset (otherwise its length is read from the config's train set).
    """
    from unittest.mock import MagicMock

    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmengine.visualization import Visualizer

    if parameter not in PARAMETERS:
        raise ValueError(f'parameter must be one of {sorted(PARAMETERS)}')
    cfg = copy.deepcopy(cfg)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    batch_size = int(cfg.train_dataloader.batch_size)
    if dataset_size is None:
        from mmengine.registry import DATASETS
        ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
        try:
            dataset_size = len(DATASETS.build(ds_cfg))
        except Exception as e:  # no annotation file here (FileNotFoundError), or a dataset that cannot be read
            raise UserError(f'cannot read the training set to count its images ({first_line(e)}); '
                            'pass --dataset-size N (the number of training images)') from None
    iters_per_epoch = max(1, math.ceil(dataset_size / (batch_size * ngpus)))

    class ToyModel(BaseModel):
        def __init__(self):
            super().__init__()
            self.data_preprocessor = nn.Identity()
            self.conv = nn.Conv2d(1, 1, 1)
            self.bn = nn.BatchNorm2d(1)

        def forward(self, inputs=None, data_samples=None, mode='tensor'):
            return inputs

        def train_step(self, data, optim_wrapper):
            return {}

    values: list[list[float]] = []

    class Record(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            # after the scheduler hooks (higher priority) have set this iteration's values
            values.append([_group_value(g, parameter) for g in runner.optim_wrapper.optimizer.param_groups])

    class FakeLoader(list):
        """What the loop iterates: ``iters_per_epoch`` empty batches; MMEngine only needs len, iter
        and ``dataset.metainfo``."""
        dataset = type('NoDataset', (), {'metainfo': None})()

    loader = FakeLoader([{}] * iters_per_epoch)
    loader.batch_size = batch_size
    train_cfg = copy.deepcopy(cfg.train_cfg)
    train_cfg.pop('dynamic_intervals', None)
    train_cfg['val_interval'] = 10**9
    hooks = dict(param_scheduler=cfg.default_hooks.get('param_scheduler', dict(type='ParamSchedulerHook')),
                 runtime_info=None, timer=None, logger=None, checkpoint=None, sampler_seed=None)
    custom = [h for h in cfg.get('custom_hooks', []) or [] if 'Scheduler' in str(h.get('type', ''))]
    custom.append(Record())
    optim_wrapper = copy.deepcopy(cfg.optim_wrapper)
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(model=ToyModel(), work_dir=work_dir, train_dataloader=loader, train_cfg=train_cfg,
                        optim_wrapper=optim_wrapper, param_scheduler=cfg.get('param_scheduler'),
                        default_hooks=hooks, custom_hooks=custom, default_scope=cfg.get('default_scope', 'mmdet'),
                        visualizer=MagicMock(spec=Visualizer), log_level='WARNING', env_cfg=dict(dist_cfg=dict(backend='gloo')), launcher='none')
        runner.train()
    return values, iters_per_epoch


def write_csv(path: str, values: list[list[float]], iters_per_epoch: int, parameter: str):
    from ..core.writer import write_text
    groups = len(values[0]) if values else 0
    lines = [','.join(['iter', 'epoch'] + [f'{parameter}_group{i}' for i in range(groups)])]
    lines += [','.join([str(it), str(it // iters_per_epoch + 1)] + [repr(v) for v in row])
              for it, row in enumerate(values)]
    write_text(path, '\n'.join(lines) + '\n')


def plot(values, iters_per_epoch: int, parameter: str, title: str, window_size=(12, 7), style: str = 'default'):
    """A matplotlib figure: one curve per parameter group against iterations, epochs on the top axis."""
    import matplotlib.pyplot as plt
    import numpy as np
    with plt.style.context(style):
        fig, ax = plt.subplots(figsize=window_size)
        arr = np.asarray(values)
        iters = np.arange(len(arr))
        for g in range(arr.shape[1]):
            # distinct dashes: groups often share one value (they would hide each other)
            ax.plot(iters, arr[:, g], label=f'param group {g}', linewidth=1.5,
                    linestyle=('-', '--', ':', '-.')[g % 4])
        ax.set_xlabel('iteration')
        ax.set_ylabel(parameter)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
        top = ax.secondary_xaxis('top', functions=(lambda x: x / iters_per_epoch, lambda e: e * iters_per_epoch))
        top.set_xlabel('epoch')
        fig.tight_layout()
    return fig
