"""browse_dataset on the generated shapes dataset (a small one made here, seeded)."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import ROOT

CONFIG = str(ROOT / 'configs/yolov5/yolov5_n_shapes.py')


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp('shapes')
    subprocess.run([sys.executable, str(ROOT / 'tools/dataset_converters/make_shapes_dataset.py'), str(root),
                    '--num-train', '8', '--num-val', '4', '--seed', '3'], check=True, capture_output=True)
    return root


def browser_for(shapes, phase, roots=True, **options):
    from mmyolo_vis.datasets.browser import DatasetBrowser
    from mmyolo_vis.models.config import load_config
    opts = {f'{p}_dataloader.dataset.data_root': f'{shapes}/' for p in ('train', 'val', 'test') if roots}
    opts.update(options)
    return DatasetBrowser(load_config(CONFIG, opts), phase)


def browse(shapes, out, *extra):
    return subprocess.run([sys.executable, str(ROOT / 'tools/analysis_tools/browse_dataset.py'), CONFIG,
                           '--out-dir', str(out), '--not-show', '--cfg-options',
                           f'train_dataloader.dataset.data_root={shapes}/', f'val_dataloader.dataset.data_root={shapes}/',
                           *extra], capture_output=True, text=True)


def test_pipeline_mode_one_captioned_panel_per_transform(shapes, tmp_path):
    from mmyolo_vis.models.config import load_config
    names = [t['type'].split('.')[-1] for t in load_config(CONFIG).train_pipeline]
    assert len(names) == 7
    b = browser_for(shapes, 'train')
    panels = b.pipeline_panels(0)
    assert [c.split(' ')[1] for c, _, _ in panels] == names
    assert [c.split('.')[0] for c, _, _ in panels] == [str(i) for i in range(1, 8)]
    assert panels[2][0].endswith('640x640') and panels[-1][0].endswith('320x320')  # Mosaic, then the input
    for _, _, boxes in panels[3:]:  # after the affine crop every box lies inside the 320 px input
        assert len(boxes) and boxes.min() >= 0 and boxes.max() <= 320
    r = browse(shapes, tmp_path, '--mode', 'pipeline', '--show-number', '2')
    assert r.returncode == 0, r.stderr
    pic = cv2.imread(str(tmp_path / '00000.jpg'))
    assert pic.shape[:2] == (3 * (400 + 26 + 6) + 6, 3 * (400 + 6) + 6)  # 7 panels on a 3x3 grid


def test_concat_is_twice_as_wide_as_one_panel(shapes, tmp_path):
    r = browse(shapes, tmp_path, '--mode', 'concat', '--show-number', '3')
    assert r.returncode == 0, r.stderr
    for i in range(3):
        pic = cv2.imread(str(tmp_path / f'0000{i}.jpg'))
        assert pic.shape[:2] == (400 + 26, 2 * 400)


def test_boxes_follow_geometric_transforms(shapes):
    """Resize, letterbox and a certain flip: the drawn boxes equal the annotation moved by the same maths."""
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='YOLOv5KeepRatioResize', scale=(320, 320)),
                dict(type='LetterResize', scale=(320, 320), allow_scale_up=False, pad_val=dict(img=114)),
                dict(type='mmdet.RandomFlip', prob=1.0),
                dict(type='mmdet.PackDetInputs')]
    b = browser_for(shapes, 'train', **{'train_dataloader.dataset.pipeline': pipeline})
    panels = b.pipeline_panels(1)
    info = b.dataset.get_data_info(1)
    ann = np.array([i['bbox'] for i in info['instances']], np.float32)
    h, w = info['height'], info['width']
    s = min(320 / h, 320 / w)
    nh, nw = round(h * s), round(w * s)
    top, left = (320 - nh) // 2, (320 - nw) // 2
    letterboxed = ann * [nw / w, nh / h, nw / w, nh / h] + [left, top, left, top]
    flipped = letterboxed.copy()
    flipped[:, 0], flipped[:, 2] = 320 - letterboxed[:, 2], 320 - letterboxed[:, 0]
    assert np.allclose(panels[1][2], ann, atol=0.01)
    assert np.allclose(panels[3][2], letterboxed, atol=1.0)
    assert np.allclose(panels[5][2], flipped, atol=1.0)


def test_wrappers_are_unwrapped(shapes):
    wrapped = {'train_dataloader.dataset': dict(
        _delete_=True, type='RepeatDataset', times=2,
        dataset=dict(type='ClassBalancedDataset', oversample_thr=0.1,
                     dataset=dict(type='YOLOv5CocoDataset', data_root=f'{shapes}/', ann_file='annotations/train.json',
                                  data_prefix=dict(img='images/'),
                                  metainfo=dict(classes=('circle', 'square', 'triangle', 'star')),
                                  pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)])))}
    b = browser_for(shapes, 'train', roots=False, **wrapped)
    assert len(b) == 8 and b.classes == ['circle', 'square', 'triangle', 'star']
    assert len(b.pipeline_panels(0)) == 2
