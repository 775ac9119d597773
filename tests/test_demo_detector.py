"""The shipped demo detector finds every shape of the shipped demo scene (known ground truth)."""
import json

import numpy as np
import torch

from conftest import ROOT

CONFIG = str(ROOT / 'configs/yolov5/yolov5_n_shapes.py')
CHECKPOINT = ROOT / 'checkpoints/yolov5_n_shapes.pth'


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_checkpoint_is_small_safe_and_named():
    assert CHECKPOINT.stat().st_size <= 8 * 2**20
    ckpt = torch.load(CHECKPOINT, map_location='cpu', weights_only=True)
    meta = ckpt['meta']['dataset_meta']
    assert meta['classes'] == ['circle', 'square', 'triangle', 'star'] and len(meta['palette']) == 4


def test_finds_every_object_of_the_demo_scene():
    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.models.detector import ModelRunner
    runner = ModelRunner(CONFIG, str(CHECKPOINT), 'cpu')
    result = runner.infer([read_image(str(ROOT / 'demo/demo_scene.jpg'))])[0].pred_instances
    keep = result.scores >= 0.3
    boxes, labels = result.bboxes[keep].numpy(), result.labels[keep].numpy()
    gt = json.loads((ROOT / 'demo/demo_scene.json').read_text())['annotations']
    assert len(gt) == 6
    matched = set()
    for a in gt:
        x, y, w, h = a['bbox']
        ious = [iou((x, y, x + w, y + h), b) if l == a['category_id'] - 1 else 0 for b, l in zip(boxes, labels)]
        best = int(np.argmax(ious)) if ious else -1
        assert best >= 0 and ious[best] >= 0.5, f'missed {a}'
        matched.add(best)
    assert len(boxes) - len(matched) <= 2


def test_sliced_inference_finds_the_small_objects_of_the_large_scene():
    """Patch size = the training input (320): AP50 >= 0.7, and >= 3x one full-image pass."""
    from mmyolo_vis.engine.evaluation import coco_ap
    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.large.demo import LargeImageDemo, coco_results
    from mmyolo_vis.large.reader import ArrayReader
    from mmyolo_vis.models.detector import ModelRunner
    from mmyolo_vis.large.sliced import Detections
    runner = ModelRunner(CONFIG, str(CHECKPOINT), 'cpu')
    image = read_image(str(ROOT / 'demo/large_scene.jpg'))
    demo = LargeImageDemo(runner, patch_size=320, overlap=0.25, batch_size=8, score_thr=0.05)
    merged, unmerged, windows = demo.detect(ArrayReader(image))
    assert len(windows) == 221 and len(unmerged) > len(merged)
    # the picture's labels (as the demo draws them, score > 0.3) cover no other label or box
    from mmyolo_vis.vis.labels import label_overlap_share, plan_labels
    shown = merged.select(merged.scores > 0.3)
    texts = [f'{runner.classes[l]} {s:.2f}' for l, s in zip(shown.labels, shown.scores)]
    labels = plan_labels(shown.boxes, texts, image.shape[:2], shown.scores)
    # 250 boxes for 180 objects: a box that lies on another (a duplicate from two patches) has no free
    # place for its label and keeps its box alone
    assert len(shown) >= 150 and len(labels) >= 0.75 * len(shown)
    assert label_overlap_share(labels, shown.boxes) < 0.05
    ann = str(ROOT / 'demo/large_scene.json')
    sliced = coco_ap(ann, coco_results(merged))['AP50']
    whole = coco_ap(ann, coco_results(Detections.from_instances(runner.infer([image])[0].pred_instances, 0.05)))['AP50']
    print(f'large scene AP50: sliced {sliced:.3f}, one full-image pass {whole:.3f}')
    assert sliced >= 0.7
    assert sliced >= 3 * whole
