"""The measures of eval_boxam.py on hand-made maps."""
import numpy as np

from mmyolo_vis.cam.metrics import energy_in_box, pointing_hit
from mmyolo_vis.detection.eval import score_boxes, summarise


def peak_map(y, x, h=100, w=200):
    m = np.zeros((h, w), np.float32)
    m[y, x] = 1.0
    return m


def test_pointing_hit_with_tolerance():
    box = (50, 20, 80, 40)
    assert pointing_hit(peak_map(30, 60), box)
    assert pointing_hit(peak_map(30, 94), box)  # 14 px right of the box
    assert not pointing_hit(peak_map(30, 96), box)  # 16 px
    assert not pointing_hit(peak_map(30, 94), box, tolerance=0)


def test_energy_in_box():
    m = np.zeros((100, 200), np.float32)
    m[20:40, 50:80] = 1.0  # 600 inside
    m[0:10, 0:40] = 1.0  # 400 outside
    assert abs(energy_in_box(m, (50, 20, 80, 40)) - 0.6) < 1e-6
    assert energy_in_box(np.zeros((10, 10), np.float32), (0, 0, 5, 5)) == 0.0


def test_score_boxes_matches_detections_to_ground_truth():
    gt = np.array([[10, 10, 60, 60], [120, 10, 170, 60], [100, 80, 110, 90]], np.float32)  # last: too small
    gt_labels = np.array([0, 0, 1])
    dets = np.array([[12, 11, 61, 59], [119, 12, 168, 61], [101, 80, 110, 91], [0, 0, 5, 5]], np.float32)
    det_labels = np.array([0, 0, 1, 0])
    maps = np.stack([peak_map(35, 140), peak_map(35, 140), peak_map(85, 105), peak_map(2, 2)])
    rows = score_boxes(maps, dets, det_labels, gt, gt_labels)
    assert len(rows) == 2  # the 10 px box and the unmatched detection are left out
    by_size = sorted(rows, key=lambda r: r['hit'])
    # detection 0's map peaks on the other object of its class: a miss for the box, a hit for the class
    assert [r['hit'] for r in by_size] == [False, True]
    assert all(r['class_hit'] for r in rows)
    assert not any(r['alone'] for r in rows)  # two squares of class 0
    alone = score_boxes(maps[:1], dets[:1], det_labels[:1], gt[[0, 2]], gt_labels[[0, 2]])
    assert len(alone) == 1 and alone[0]['alone'] and not alone[0]['hit']
    assert rows[0]['size'] == 50.0


def test_summarise_splits_alone_and_shared_boxes():
    rows = [dict(hit=True, energy=0.5, class_hit=True, alone=True),
            dict(hit=False, energy=0.1, class_hit=True, alone=False),
            dict(hit=True, energy=0.3, class_hit=True, alone=False),
            dict(hit=False, energy=0.0, class_hit=False, alone=False)]
    r = summarise('gradcam', 'neck', rows)
    assert (r['boxes'], r['boxes_shared']) == (4, 3)
    assert r['pointing_game'] == 0.5 and r['pointing_game_class'] == 0.75
    assert r['pointing_game_alone'] == 1.0 and abs(r['pointing_game_shared'] - 1 / 3) < 1e-9
    assert abs(r['energy_in_box'] - 0.225) < 1e-9
    empty = summarise('gradcam', 'neck', rows[:1])
    assert empty['pointing_game_shared'] is None  # no shared box: null, not a made-up 0
