"""MMEngine Runner set-up shared by tools/train.py and tools/test.py."""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch

from ..core.errors import UserError, first_line


NEEDS = {'train': ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'),
         'test': ('model', 'test_dataloader', 'test_cfg', 'test_evaluator'),
         'schedule': ('train_dataloader', 'train_cfg', 'optim_wrapper')}
JOBS = {'train': 'training', 'test': 'testing', 'schedule': 'the schedule'}


def check_config(cfg, config: str, job: str):
    """A config that cannot drive MMEngine's Runner for ``job`` (an empty file, a model-only config) is one
    line naming what it lacks."""
    missing = [k for k in NEEDS[job] if not cfg.get(k)]
    if missing:
        raise UserError(f'{config}: the config defines no {", ".join(missing)}; {JOBS[job]} needs a full MMEngine '
                        'training config (model, data loaders, schedule), e.g. configs/yolov5/yolov5_n_shapes.py')


def check_checkpoint(checkpoint: str, trust: bool):
    """The checkpoint is there and loads (safely, unless trusted) before the Runner builds anything."""
    from ..models.checkpoint import fetch, load_checkpoint_file
    load_checkpoint_file(fetch(checkpoint), trust)


def check_data(cfg, job: str):
    """The dataset's folder and annotation file are there, before the Runner builds the model (MMEngine builds
    the data loaders only when the job starts). Wrapped datasets (RepeatDataset, ...) are looked into."""
    loaders = ['train_dataloader'] if job == 'train' else ['test_dataloader']
    for key in loaders:
        ds = cfg.get(key, {}).get('dataset', {})
        while isinstance(ds, dict) and isinstance(ds.get('dataset'), dict):
            ds = ds['dataset']
        if not isinstance(ds, dict):
            continue
        root = ds.get('data_root') or ''
        if root and not os.path.isdir(root):
            raise UserError(f'{root}: the {key}\'s data_root is not here; generate the data set (README) or set '
                            f'it with --cfg-options {key}.dataset.data_root=...')
        ann = ds.get('ann_file')
        if isinstance(ann, str) and ann:
            path = ann if os.path.isabs(ann) or not root else osp.join(root, ann)
            if not os.path.isfile(path):
                raise UserError(f'{path}: the {key}\'s annotation file is not here; generate the data set '
                                f'(README) or set it with --cfg-options {key}.dataset.ann_file=...')


def run_job(job):
    """Run ``runner.train`` / ``runner.test``: data that is not there (the annotation file, an image
    folder) is one line instead of the data loader's traceback."""
    from ..core.distributed import close_distributed
    try:
        return job()
    except (FileNotFoundError, NotADirectoryError) as e:
        raise UserError(f'cannot read the data ({first_line(e)}); generate the data set (README) or point the '
                        'config at it with --cfg-options train_dataloader.dataset.data_root=... ') from None
    finally:
        close_distributed()


def build_runner(args: argparse.Namespace, load_from: str | None = None, resume: bool = False, job: str = 'train'):
    from mmengine.runner import Runner

    from ..models.config import load_config
    if args.trust_checkpoint:  # torch >= 2.6 loads weights only by default; MMEngine's Runner cannot say otherwise
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
    cfg = load_config(args.config, args.cfg_options)
    check_config(cfg, args.config, job)
    if load_from and not (resume and load_from == 'auto'):
        check_checkpoint(load_from, args.trust_checkpoint)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config.split('::')[-1]))[0])
    from ..core.inputs import ensure_writable_dir
    ensure_writable_dir(cfg.work_dir, '--work-dir')
    check_data(cfg, job)  # last: the cheaper checks of the user's own arguments first
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
