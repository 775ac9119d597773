"""Detection labels in dense scenes: sized to the box and the picture, never over another label or box."""
import json

import numpy as np

from conftest import ROOT
from mmyolo_vis.vis.labels import Label, font_scale_for, label_overlap_share, plan_labels


def naive_labels(boxes, texts, image_hw):
    """The former layout: every label above its box's top-left corner at one size for the picture."""
    import cv2
    scale = max(0.4, min(image_hw) / 900)
    out = []
    for i, ((x1, y1, _, _), t) in enumerate(zip(boxes, texts)):
        (tw, th), base = cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = max(int(y1), th + base + 2)
        out.append(Label(i, t, int(x1), ty - th - base - 2, int(x1) + tw + 4, ty, scale, base))
    return out


def street_of_cars(n=32, seed=0):
    """1400x788 with n boxes of 15-30 px packed along two lanes, as a street photo with small cars."""
    rng = np.random.default_rng(seed)
    boxes = []
    while len(boxes) < n:
        w, h = rng.uniform(15, 30, 2)
        x, y = rng.uniform(100, 1300), rng.choice([380, 430]) + rng.uniform(-15, 15)
        box = np.array([x, y, x + w, y + h])
        if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in boxes):
            boxes.append(box)
    return np.array(boxes, np.float32), [f'{"car" if i % 3 else "truck"} 0.{50 + i}' for i in range(n)]


def test_dense_street_labels_do_not_cover_each_other_or_the_cars():
    boxes, texts = street_of_cars()
    scores = np.linspace(0.9, 0.5, len(boxes))
    labels = plan_labels(boxes, texts, (788, 1400), scores)
    assert label_overlap_share(labels, boxes) == 0.0
    assert label_overlap_share(naive_labels(boxes, texts, (788, 1400)), boxes) > 0.2  # the former layout
    assert len(labels) >= 0.6 * len(boxes)  # most keep a label; the others keep their box
    for lab in labels:  # inside the picture, and about as tall as a third of the box (>= 8 px of text)
        assert 0 <= lab.x1 < lab.x2 <= 1400 and 0 <= lab.y1 < lab.y2 <= 788
        assert lab.y2 - lab.y1 <= 20


def test_the_more_confident_box_gets_the_only_free_place():
    boxes = np.array([[5, 20, 55, 38], [5, 20, 55, 38]], np.float32)  # one place above them, none below
    for scores, winner in (([0.3, 0.9], 1), ([0.9, 0.3], 0)):
        labels = plan_labels(boxes, ['a 0.30', 'b 0.90'], (40, 60), np.array(scores))
        assert [lab.index for lab in labels] == [winner]


def test_label_size_follows_box_and_picture():
    small, big = font_scale_for(24, (3000, 4000)), font_scale_for(300, (3000, 4000))
    assert small < big
    assert font_scale_for(300, (300, 400)) < big  # a small picture caps the text


def test_large_scene_labels_share_under_five_percent():
    """demo/large_scene.jpg's 180 objects (12-40 px) labelled as the large-image demo labels them."""
    ann = json.loads((ROOT / 'demo/large_scene.json').read_text())
    names = {c['id']: c['name'] for c in ann['categories']}
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in ann['annotations'])], np.float32)
    texts = [f'{names[a["category_id"]]} 0.{80 + i % 19}' for i, a in enumerate(ann['annotations'])]
    labels = plan_labels(boxes, texts, (3000, 4000), np.linspace(1, 0.5, len(boxes)))
    assert label_overlap_share(labels, boxes) < 0.05
    assert label_overlap_share(naive_labels(boxes, texts, (3000, 4000)), boxes) > 0.05
    assert len(labels) >= 0.9 * len(boxes)


def test_no_labels_draws_boxes_only():
    from mmyolo_vis.vis.visualizer import HeatmapVisualizer as FeatmapVisualizer
    image = np.zeros((100, 200, 3), np.uint8)
    boxes = np.array([[40, 40, 120, 90]], np.float32)
    with_labels = FeatmapVisualizer.draw_detections(image, boxes, [0], [0.9], ['car'], [(255, 0, 0)])
    without = FeatmapVisualizer.draw_detections(image, boxes, [0], [0.9], ['car'], [(255, 0, 0)],
                                                show_labels=False)
    assert (without[:38] == 0).all()  # nothing above the box
    assert (with_labels[:38] != 0).any()  # the label sits above it
