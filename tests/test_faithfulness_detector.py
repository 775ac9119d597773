"""Deletion / insertion / ROAD of box maps on a detector (mmyolo_vis.detection.faithfulness), on the tiny model."""
import numpy as np
import pytest
import torch

from conftest import make_image
from mmyolo_vis.cam.faithfulness import Protocol, baseline_maps, road_maps
from mmyolo_vis.core.images import read_image
from mmyolo_vis.detection.faithfulness import DetectorFaithfulness
from mmyolo_vis.detection.scores import box_iou
from mmyolo_vis.models.geometry import maps_to_input, to_input_coords


@pytest.fixture(scope='module')
def explained(tiny_runner, tmp_path_factory):
    from mmyolo_vis.detection.boxam import BoxAM
    path = make_image(tmp_path_factory.mktemp('faith') / 'scene.jpg', w=200, h=120, seed=4)
    boxam = BoxAM(tiny_runner, 'hirescam', None, score_thr=0.0, topk=3)
    res = boxam.run(read_image(path))
    assert len(res.boxes) == 3 and len(res.priors) == 3
    return boxam, res


def test_a_point_scores_the_best_overlapping_prediction_of_the_class(tiny_runner, explained):
    boxam, res = explained
    faith = DetectorFaithfulness(boxam.wrapper, tiny_runner.model.data_preprocessor)
    refs = torch.from_numpy(to_input_coords(res.boxes, res.meta))
    refs = torch.cat([refs, torch.tensor([[5.0, 5.0, 5.0, 5.0]])])  # no prediction overlaps an empty box
    labels = torch.as_tensor(np.r_[res.labels, 0])
    with torch.no_grad():
        got = faith.score_fn(refs, labels, res.meta)(res.inputs)[0]
        scores, boxes = boxam.wrapper.decode(res.inputs)
    top, left, ch, cw = res.meta.content_tlhw  # predictions clipped to the picture, as the detector's own
    boxes[..., 0::2] = boxes[..., 0::2].clamp(left, left + cw)
    boxes[..., 1::2] = boxes[..., 1::2].clamp(top, top + ch)
    for k in range(3):
        overlapping = box_iou(refs[k:k + 1], boxes[0])[0] > 0.5
        assert float(got[k]) == pytest.approx(float(scores[0, overlapping, labels[k]].max()))
        assert float(got[k]) >= res.scores[k] - 1e-5  # the box's own prediction is one of them
    assert float(got[3]) == 0.0
    # the value range of the input: the tiny model divides 0..255 by 255 (YOLOv5's preprocessor)
    low, high = faith.value_range
    assert torch.allclose(low, torch.zeros(3)) and torch.allclose(high, torch.ones(3))


def test_deletion_changes_the_ranked_pixels_of_the_picture_only(tiny_runner, explained, monkeypatch):
    boxam, res = explained
    faith = DetectorFaithfulness(boxam.wrapper, tiny_runner.model.data_preprocessor, Protocol(steps=10, every=5))
    seen = []
    decode = boxam.wrapper.decode
    monkeypatch.setattr(boxam.wrapper, 'decode', lambda x: (seen.append(x.clone()), decode(x))[1])
    box_map = baseline_maps('box', res.maps.shape[1:], res.boxes[:1])
    kept = len(boxam.cam.cam.activations_and_grads.activations)
    rows = faith.measure(res, box_map, res.boxes[:1], [0], ['deletion', 'insertion'])
    assert len(boxam.cam.cam.activations_and_grads.activations) == kept  # the CAM's hooks never saw them
    assert rows[0]['deletion'][0] == pytest.approx(1.0) and len(rows[0]['deletion']) == 3
    assert 0 <= rows[0]['deletion_auc'] <= 1.5 and rows[0]['insertion_auc'] >= 0
    pictures = torch.cat(seen)
    assert len(pictures) == 2 + 2 * 2  # untouched + black start, then 2 points of each curve
    original = res.inputs[0]
    in_map, valid = maps_to_input(box_map, res.meta)
    x1, y1, x2, y2 = to_input_coords(res.boxes[:1], res.meta)[0]
    area = (x2 - x1) * (y2 - y1)
    last_deletion = pictures[3]  # points in order: deletion 5, 10 steps, then insertion 5, 10
    changed = (last_deletion != original).any(0).numpy()
    assert changed.sum() == pytest.approx(10 * int(area / 10), abs=2)  # all steps: the box's area (random may equal)
    assert not changed[~valid].any()  # the letterbox padding never changes
    assert (in_map[0][changed] > 0.5).all()  # the box map ranks its box first
    last_insertion = pictures[5]
    restored = (last_insertion != 0).any(0).numpy()
    assert not restored[~valid].any() and restored.sum() <= changed.sum()


def test_road_runs_pytorch_grad_cams_classes_with_the_box_target(tiny_runner, explained):
    boxam, res = explained
    faith = DetectorFaithfulness(boxam.wrapper, tiny_runner.model.data_preprocessor, road_percentiles=(50,))
    a = faith.measure(res, res.maps[:2], res.boxes[:2], [0, 1], ['road'])
    b = faith.measure(res, res.maps[:2], res.boxes[:2], [0, 1], ['road'])
    assert [r['road'] for r in a] == [r['road'] for r in b]  # the imputer's noise is seeded
    assert all(np.isfinite(r['road']) and abs(r['road']) <= 1 for r in a)
    m = road_maps(np.zeros((1, 4, 5), np.float32), np.pad(np.ones((2, 5), bool), ((1, 1), (0, 0))))
    assert (m[0, [0, 3]] == -1).all() and len(np.unique(m[0, 1:3])) == 10  # padding last, no ties


def test_drise_passes_leave_other_cams_hooks_alone(tiny_runner, explained):
    from mmyolo_vis.detection.boxam import BoxAM
    boxam, res = explained  # a hirescam whose hooks stay on the model
    kept = len(boxam.cam.cam.activations_and_grads.activations)
    BoxAM(tiny_runner, 'drise', None, score_thr=0.0, topk=2, num_masks=16, batch_size=8).run(
        np.ascontiguousarray(np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)))
    # the detection pass through the 3 target layers, not the 2 batches of masks as well
    assert len(boxam.cam.cam.activations_and_grads.activations) == kept + len(boxam.layer_names)
