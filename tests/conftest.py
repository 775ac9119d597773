import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / 'data'
SHARED = ROOT.parent / 'shared' / 'data'
TINY_CONFIG = str(DATA / 'tiny_yolov5.py')

sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    os.environ.setdefault('MPLBACKEND', 'Agg')


requires_shared = pytest.mark.skipif(
    not (SHARED / 'yolov5_n-v61_coco.pth').is_file(),
    reason=f'reference data not found at {SHARED} (the real COCO YOLOv5-n and dog.jpg live beside the project)')


@pytest.fixture(scope='session')
def tiny_runner():
    from mmyolo_vis.models.detector import ModelRunner
    import torch
    torch.manual_seed(0)
    return ModelRunner(TINY_CONFIG, None, 'cpu')


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory, tiny_runner):
    """The tiny model's random weights saved as a tensor-only checkpoint with class names."""
    import torch
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(dict(state_dict=tiny_runner.model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=['a', 'b', 'c']))), path)
    return str(path)


def make_image(path, w=200, h=120, channels=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = 65535 if dtype == np.uint16 else 255
    shape = (h, w) if channels == 1 else (h, w, channels)
    img = rng.integers(0, top, shape, endpoint=True).astype(dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)
    return str(path)


def run_cli(cli, capsys, *argv):
    """A demo's ``cli`` on ``argv`` (str()-ed) -> (exit code, stdout, stderr); it must never print a traceback."""
    code = cli([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert 'Traceback' not in err
    return code, out, err
