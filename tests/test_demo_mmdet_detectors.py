"""The shipped MMDetection demo detectors (one per kind: dense, two-stage, DETR family) are small, safe and
named, and find the shapes of the shipped demo scene (known ground truth) in the original picture's pixels."""
import json

import numpy as np
import pytest
import torch

from conftest import ROOT

CLASSES = ['circle', 'square', 'triangle', 'star']
# name: (config, checkpoint, objects of the demo scene's 6 it must find at IoU >= 0.5, score >= 0.3)
MODELS = {
    'fcos': ('configs/fcos/fcos_r18tiny_shapes.py', 'checkpoints/fcos_r18tiny_shapes.pth', 5),
    'faster_rcnn': ('configs/faster_rcnn/faster-rcnn_r18tiny_shapes.py',
                    'checkpoints/faster-rcnn_r18tiny_shapes.pth', 5),
    'dino': ('configs/dino/dino-3scale_r18tiny_shapes.py', 'checkpoints/dino-3scale_r18tiny_shapes.pth', 2),  # 2 epochs only: see README
}


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _checkpoint(name):
    path = ROOT / MODELS[name][1]
    if not path.is_file():
        pytest.skip(f'{path.name} is not shipped (yet): train and publish it as the README says')
    return path


@pytest.mark.parametrize('name', list(MODELS))
def test_checkpoint_is_small_safe_and_named(name):
    path = _checkpoint(name)
    assert path.stat().st_size <= 15 * 2**20
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert all(isinstance(v, torch.Tensor) for v in ckpt['state_dict'].values())
    meta = ckpt['meta']['dataset_meta']
    assert meta['classes'] == CLASSES and len(meta['palette']) == 4


@pytest.fixture(scope='module')
def demo_scene():
    from mmyolo_vis.core.images import read_image
    gt = json.loads((ROOT / 'demo/demo_scene.json').read_text())['annotations']
    assert len(gt) == 6
    return read_image(str(ROOT / 'demo/demo_scene.jpg')), gt


@pytest.mark.parametrize('name', list(MODELS))
def test_finds_the_objects_of_the_demo_scene(name, demo_scene):
    """Every weight of the checkpoint goes in (strictly), class names come from it, and the boxes (640x480
    picture, 320x240 network input) land on the ground truth in the picture's pixels."""
    from mmyolo_vis.models.detector import ModelRunner
    config, _, must_find = MODELS[name]
    runner = ModelRunner(str(ROOT / config), str(_checkpoint(name)), 'cpu')
    assert list(runner.classes) == CLASSES
    sd = torch.load(_checkpoint(name), map_location='cpu', weights_only=True)['state_dict']
    own = runner.model.state_dict()
    assert not [k for k in own if k not in sd and not k.endswith('num_batches_tracked')]
    assert not [k for k in sd if k not in own]
    image, gt = demo_scene
    result = runner.infer([image])[0].pred_instances
    keep = result.scores >= 0.3
    boxes, labels = result.bboxes[keep].numpy(), result.labels[keep].numpy()
    found = 0
    for a in gt:
        x, y, w, h = a['bbox']
        ious = [iou((x, y, x + w, y + h), b) for b, l in zip(boxes, labels) if l == a['category_id'] - 1]
        found += bool(ious) and max(ious) >= 0.5
    assert found >= must_find, f'{name}: {found} of 6 objects found'
    assert np.all(boxes[:, 2] <= 640 + 1) and np.all(boxes[:, 3] <= 480 + 1)


@pytest.mark.parametrize('name', ['fcos', 'faster_rcnn'])
def test_sliced_inference_on_a_crop_of_the_large_scene(name, tmp_path):
    """large_image_demo's slicing with an MMDetection model (keep-ratio resize, bottom/right padding): the
    12-40 px shapes of a 1280x960 crop of the large scene, patch 320 = the training input, land on their
    ground truth in the crop's pixels (AP50)."""
    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.engine.evaluation import coco_ap
    from mmyolo_vis.large.demo import LargeImageDemo, coco_results
    from mmyolo_vis.large.reader import ArrayReader
    from mmyolo_vis.models.detector import ModelRunner
    config = MODELS[name][0]
    runner = ModelRunner(str(ROOT / config), str(_checkpoint(name)), 'cpu')
    w, h = 1280, 960
    image = np.ascontiguousarray(read_image(str(ROOT / 'demo/large_scene.jpg'))[:h, :w])
    coco = json.loads((ROOT / 'demo/large_scene.json').read_text())
    inside = [a for a in coco['annotations']
              if a['bbox'][0] + a['bbox'][2] <= w and a['bbox'][1] + a['bbox'][3] <= h]
    assert len(inside) == 12
    coco['annotations'] = inside
    coco['images'] = [dict(coco['images'][0], width=w, height=h)]
    ann = tmp_path / 'crop.json'
    ann.write_text(json.dumps(coco))
    demo = LargeImageDemo(runner, patch_size=320, overlap=0.25, batch_size=4, score_thr=0.05)
    merged, unmerged, windows = demo.detect(ArrayReader(image))
    assert len(windows) == 20 and len(unmerged) >= len(merged)
    image_id = coco['images'][0]['id']
    sliced = coco_ap(str(ann), coco_results(merged, image_id))['AP50']
    print(f'{name}: large-scene crop AP50, sliced {sliced:.3f}')
    assert sliced >= 0.7
