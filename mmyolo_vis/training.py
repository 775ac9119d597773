"""MMEngine Runner set-up shared by tools/train.py and tools/test.py."""
from __future__ import annotations

import os.path as osp


def build_runner(config: str, work_dir: str | None = None, cfg_options: dict | None = None,
                 load_from: str | None = None):
    from mmengine.runner import Runner

    from .runner import load_config
    cfg = load_config(config, cfg_options)
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config.split('::')[-1]))[0])
    cfg.launcher = 'none'
    if load_from:
        cfg.load_from = load_from
    return Runner.from_cfg(cfg)
