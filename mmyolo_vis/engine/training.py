"""MMEngine Runner set-up shared by tools/train.py and tools/test.py."""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch


def build_runner(args: argparse.Namespace, load_from: str | None = None, resume: bool = False):
    from mmengine.runner import Runner

    from ..models.config import load_config
    if args.trust_checkpoint:  # torch >= 2.6 loads weights only by default; MMEngine's Runner cannot say otherwise
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config.split('::')[-1]))[0])
    cfg.launcher = args.launcher
    on_cpus = args.launcher != 'none' and not torch.cuda.is_available()
    if on_cpus:  # CPU processes talk through gloo
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        # MMEngine wraps the model with device_ids=[local rank], a GPU's; a CPU model takes none
        cfg.setdefault('model_wrapper_cfg', dict(type='MMDistributedDataParallel', broadcast_buffers=False))
        cfg.model_wrapper_cfg['device_ids'] = None
    cfg.resume = resume
    if load_from or resume:
        cfg.load_from = load_from
    if on_cpus:
        from ..core.distributed import without_cuda_set_device
        with without_cuda_set_device():  # MMEngine's init_dist sets a CUDA device whatever the backend
            return Runner.from_cfg(cfg)
    return Runner.from_cfg(cfg)
