"""Safe checkpoint loading: tensors only by default, full unpickling only when the user says so.

torch 2.14 loads with ``weights_only=True`` by default and mmengine 0.10.7 calls ``torch.load``
without saying which; we call it ourselves so the choice is explicit and the refusal is one line.
"""
from __future__ import annotations

import logging
import os
import pickle
import urllib.parse

import torch

from ..core.errors import UserError, first_line
from ..core.inputs import is_url

logger = logging.getLogger('mmyolo_vis')


def fetch(checkpoint: str) -> str:
    """A local path for ``checkpoint``; a URL is downloaded once into torch's hub cache."""
    if not is_url(checkpoint):
        if not os.path.isfile(checkpoint):
            raise UserError(f'{checkpoint}: checkpoint not found; give a .pth file or an http(s) URL')
        return checkpoint
    cache = os.path.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(cache, exist_ok=True)
    dst = os.path.join(cache, os.path.basename(urllib.parse.urlparse(checkpoint).path) or 'checkpoint.pth')
    if not os.path.isfile(dst):
        logger.info('downloading %s to %s', checkpoint, dst)
        try:
            torch.hub.download_url_to_file(checkpoint, dst, progress=True)
        except Exception as e:  # urllib, HTTP and socket errors all end here
            raise UserError(f'{checkpoint}: cannot download the checkpoint ({e}); '
                            'check the address and the network, or pass a local file') from None
    return dst


def _is_torch_file(path: str) -> bool:
    """A file torch.save can have written: a zip archive (torch >= 1.6) or a pickle (protocol 2+)."""
    try:
        with open(path, 'rb') as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith(b'PK\x03\x04') or head[:1] == b'\x80'


def load_checkpoint_file(path: str, trust: bool = False) -> dict:
    """Load a checkpoint onto the CPU. Refuses pickled objects unless ``trust`` is set."""
    if not _is_torch_file(path):
        raise UserError(f'{path}: not a checkpoint (a .pth file written by torch.save is a zip archive or a '
                        'pickle); give the model\'s .pth file')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=not trust)
    except pickle.UnpicklingError as e:
        first = first_line(e)
        if trust or 'global' not in str(e).lower():  # not a pickled object: a damaged or foreign file
            raise UserError(f'{path}: not a readable checkpoint ({first})') from None
        raise UserError(f'{path}: this checkpoint holds pickled Python objects besides tensors; '
                        'load it only if you trust its source, with --trust-checkpoint') from None
    except Exception as e:  # truncated or foreign files fail in many ways (struct, zip, EOF, runtime)
        raise UserError(f'{path}: not a readable checkpoint ({first_line(e)})') from None
    if not isinstance(ckpt, dict):
        raise UserError(f'{path}: not a checkpoint (expected a dict of tensors, got {type(ckpt).__name__})')
    return ckpt


def state_dict_of(ckpt: dict) -> dict:
    sd = ckpt.get('state_dict', ckpt.get('model', ckpt))
    if not isinstance(sd, dict) or not any(isinstance(v, torch.Tensor) for v in sd.values()):
        raise UserError('the checkpoint holds no tensors under "state_dict"')
    # Models saved from DataParallel / DistributedDataParallel prefix every key with "module.".
    return {k[7:] if k.startswith('module.') else k: v for k, v in sd.items()}


def _examples(keys, n=3) -> str:
    keys = sorted(keys)
    more = f', ... (+{len(keys) - n})' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def load_into(model: torch.nn.Module, ckpt: dict, name: str) -> tuple[list[str], list[str]]:
    """Copy the checkpoint's tensors into ``model``; one summary line for missing/unexpected keys.

    A checkpoint made for another model (tensor shapes differ, or nothing matches) is refused.
    """
    sd = state_dict_of(ckpt)
    own = model.state_dict()
    mismatched = [k for k, v in sd.items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    if mismatched:
        k = mismatched[0]
        raise UserError(f'{name}: checkpoint does not fit this model: {len(mismatched)} tensors differ in shape '
                        f'(e.g. {k}: checkpoint {tuple(sd[k].shape)}, model {tuple(own[k].shape)}); '
                        'is it for another config or number of classes?')
    matched = [k for k in sd if k in own]
    if not matched:
        raise UserError(f'{name}: no tensor of the checkpoint matches this model; is it for another config?')
    result = model.load_state_dict(sd, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith('num_batches_tracked')]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        logger.warning('checkpoint %s: %d keys missing (%s), %d unexpected (%s)', name, len(missing),
                       _examples(missing) or '-', len(unexpected), _examples(unexpected) or '-')
    return missing, unexpected
