"""Config files (local or packaged, with --cfg-options) and the device a model runs on."""
from __future__ import annotations

import logging
import os

import torch

from ..core.errors import UserError, first_line

logger = logging.getLogger('mmyolo_vis')


def resolve_device(device: str | None) -> str:
    """'cpu', 'cuda' or 'cuda:N'; None picks cuda:0 when a GPU is there, else cpu."""
    if device is None:
        return 'cuda:0' if torch.cuda.is_available() else 'cpu'
    if device == 'cpu':
        return device
    if device == 'cuda' or (device.startswith('cuda:') and device[5:].isdigit()):
        if not torch.cuda.is_available():
            raise UserError(f'--device {device}: no CUDA device is available here; use --device cpu')
        index = int(device[5:]) if ':' in device else 0
        if index >= torch.cuda.device_count():
            raise UserError(f'--device {device}: only {torch.cuda.device_count()} CUDA device(s) here')
        return f'cuda:{index}'
    raise UserError(f'--device {device!r}: use cpu, cuda or cuda:N')


CONFIG_PACKAGES = ('mmyolo', 'mmdet', 'mmpretrain')


def packaged_config(config: str) -> str | None:
    """``configs/yolov5/x.py`` (as OpenMMLab's docs write it, from a clone of MMYOLO) -> ``mmyolo::yolov5/x.py``
    when that file is one of the installed packages' configs (MMYOLO first), else None."""
    import importlib.util
    path = '/' + config.replace(os.sep, '/')
    if '/configs/' not in path:
        return None
    rel = path.rsplit('/configs/', 1)[1]
    for package in CONFIG_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        if os.path.isfile(os.path.join(spec.submodule_search_locations[0], '.mim', 'configs', rel)):
            return f'{package}::{rel}'
    return None


def load_config(config: str, cfg_options: dict | None = None):
    """An MMEngine Config from a local file or a packaged one (``mmyolo::yolov5/...py``). A ``configs/...``
    path that is not here but is a packaged config's is taken from the package, and the log says so."""
    from mmengine.config import Config
    if '::' not in config and not os.path.isfile(config):
        packaged = packaged_config(config)
        if packaged is not None:
            logger.info('%s is not here: using the installed package\'s config %s', config, packaged)
            config = packaged
    try:
        if '::' in config and not os.path.isfile(config):
            # Config.fromfile does not resolve the "package::" prefix; mmengine.hub does.
            from mmengine.hub import get_config
            cfg = get_config(config, pretrained=False)
        else:
            if not os.path.isfile(config):
                raise UserError(f'{config}: config file not found; give a .py config or mmyolo::path/to/config.py')
            cfg = Config.fromfile(config)
    except UserError:
        raise
    except Exception as e:  # syntax errors, missing bases, unknown packages
        raise UserError(f'{config}: cannot load the config ({first_line(e)})') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
