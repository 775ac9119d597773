"""The deletion / insertion metric itself (mmyolo_vis.cam.faithfulness), where the truth is known.

Synthetic model: the input is all ones (value range 0..1), and a reference's score is the mean of the input
over its own region R (a 40 x 25 box = 1000 px, a quarter of the 80 x 50 picture). Then, with f the fraction
of R's area changed so far:

- R's own mask as the map: deletion erases R first, each pixel then holding uniform noise of mean 0.5, so the
  score is 1 - f/2 and the AUC 0.75; insertion puts R back first onto black: score f, AUC 0.5 exactly;
- the inverse mask: the 3000 px outside R go first and f never reaches R: deletion 1 (AUC 1, the worst),
  insertion 0 (AUC 0, the worst), exactly;
- a random map: a random pixel lies in R with chance 1/4: deletion 1 - f/8 (AUC 0.9375), insertion f/4
  (AUC 0.125), in expectation; the hypergeometric spread of 1000 draws is 0.012 at most, hence the 0.02
  tolerance (0.01 for the mask's deletion, whose only noise is the mean of 300+ uniform values).
"""
import numpy as np
import pytest
import torch

from mmyolo_vis.cam.faithfulness import (Protocol, auc, baseline_maps, faithfulness_curves, pixels_per_step, ranking,
                                         verdict)

H, W = 50, 80
R1 = (20, 10, 60, 35)  # x1, y1, x2, y2: 40 x 25 = 1000 px
R2 = (0, 0, 40, 25)  # a second reference, overlapping R1


def region_mask(box):
    m = np.zeros((H, W), np.float32)
    x1, y1, x2, y2 = box
    m[y1:y2, x1:x2] = 1
    return m


def mean_of_regions(boxes):
    masks = torch.from_numpy(np.stack([region_mask(b) for b in boxes]))  # (K, H, W)

    def score_fn(images):  # (B, 3, H, W) -> (B, K)
        score_fn.calls += 1
        score_fn.pictures += len(images)
        per_pixel = images.mean(1)  # (B, H, W)
        return torch.einsum('bhw,khw->bk', per_pixel, masks) / masks.sum((1, 2))
    score_fn.calls = score_fn.pictures = 0
    return score_fn


def run(maps, boxes=(R1,), protocol=Protocol(), batch_size=16, **kw):
    image = torch.ones(3, H, W)
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    fn = mean_of_regions(boxes)
    return faithfulness_curves(image, np.stack(maps), areas, fn, (0.0, 1.0), protocol, batch_size=batch_size,
                               **kw), fn


def test_closed_form_and_order_of_mask_random_inverse():
    mask = region_mask(R1)
    random_map = baseline_maps('random', (H, W), np.array([R1]), seed=3)[0]
    curves = {}
    for name, m in [('mask', mask), ('random', random_map), ('inverse', 1 - mask)]:
        curves[name], _ = run([m])
    f = curves['mask'].fractions
    assert len(f) == 11 and f[0] == 0 and f[-1] == 1  # 100 steps, scored every 10: 11 points
    d = {n: float(c.deletion_auc()[0]) for n, c in curves.items()}
    i = {n: float(c.insertion_auc()[0]) for n, c in curves.items()}
    # the closed forms (module note)
    assert d['mask'] == pytest.approx(0.75, abs=0.01)
    assert d['random'] == pytest.approx(0.9375, abs=0.02)
    assert d['inverse'] == pytest.approx(1.0, abs=1e-6)
    assert i['mask'] == pytest.approx(0.5, abs=1e-6)
    assert i['random'] == pytest.approx(0.125, abs=0.02)
    assert i['inverse'] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(curves['mask'].deletion[0], 1 - f / 2, atol=0.01)
    np.testing.assert_allclose(curves['mask'].insertion[0], f, atol=1e-6)
    # mask best, inverse worst, random between, on both curves
    assert d['mask'] < d['random'] < d['inverse']
    assert i['mask'] > i['random'] > i['inverse']
    assert verdict(d['mask'], i['mask'], d['random'], i['random']) == 'informative'
    assert verdict(d['inverse'], i['inverse'], d['random'], i['random']) == 'no better than random'


def test_same_run_twice_is_identical_and_batching_changes_nothing():
    maps = [baseline_maps('gaussian', (H, W), np.array([R1]))[0], region_mask(R2)]
    a, fa = run(maps, (R1, R2), batch_size=16)
    b, _ = run(maps, (R1, R2), batch_size=16)
    c, fc = run(maps, (R1, R2), batch_size=1)  # one picture per forward pass
    np.testing.assert_array_equal(a.deletion, b.deletion)  # the same run: the same numbers, bit for bit
    np.testing.assert_array_equal(a.insertion, b.insertion)
    # another batch size: the same pictures (only the float sums of a batched product may round otherwise)
    np.testing.assert_allclose(a.deletion, c.deletion, rtol=1e-6)
    np.testing.assert_allclose(a.insertion, c.insertion, rtol=1e-6)
    # 2 boxes x 2 modes x 10 points + the 2 shared pictures (untouched, black start)
    assert fa.pictures == fc.pictures == 42
    assert fa.calls == 1 + 3 and fc.calls == 1 + 40  # batches of 16 hold the points of several boxes
    # box R2's own mask: its insertion rises as f exactly, whichever box it shares a batch with
    np.testing.assert_allclose(a.insertion[1], a.fractions, atol=1e-6)


def test_valid_pixels_only_and_steps_of_one_percent():
    valid = np.ones((H, W), bool)
    valid[:, :30] = False  # e.g. the letterbox padding
    order = ranking(np.ones((H, W)), valid, seed=0)
    assert len(order) == H * (W - 30) and (order % W >= 30).all()
    assert len(set(order.tolist())) == len(order)
    assert pixels_per_step(1000, 100) == 10 and pixels_per_step(50, 100) == 1
    # R1's own mask, but the left 10 columns of R1 may not change: insertion stops at 3/4 of R1
    curves, _ = run([region_mask(R1)], valid=valid)
    assert curves.insertion[0, -1] == pytest.approx(0.75, abs=1e-6)


def test_blurred_start_and_protocol_parameters():
    p = Protocol(steps=20, every=5, insertion_start='blur')
    curves, fn = run([region_mask(R1)], protocol=p)
    assert len(curves.fractions) == 5
    np.testing.assert_allclose(curves.insertion[0], 1.0, atol=1e-5)  # a blurred picture of ones is ones
    assert fn.pictures == 2 + 2 * 4
    with pytest.raises(ValueError):
        Protocol(steps=100, every=7)
    with pytest.raises(ValueError):
        Protocol(insertion_start='grey')


def test_baselines_and_auc():
    box = np.array([[10, 5, 30, 45]])
    b = baseline_maps('box', (H, W), box)[0]
    assert b.sum() == 20 * 40 and b[5:45, 10:30].all()
    g = baseline_maps('gaussian', (H, W), box)[0]
    assert np.unravel_index(np.argmax(g), g.shape) in [(24, 19), (24, 20), (25, 19), (25, 20)]
    r1, r2 = baseline_maps('random', (H, W), np.array([R1, R1]), seed=0)
    assert not np.array_equal(r1, r2)
    np.testing.assert_array_equal(r1, baseline_maps('random', (H, W), np.array([R1]), seed=0)[0])
    assert auc(np.linspace(0, 1, 11), np.linspace(0, 1, 11)) == pytest.approx(0.5)


def test_no_score_to_lose_gives_no_curve():
    def nothing(images):
        return torch.full((len(images), 1), 1e-9)
    curves = faithfulness_curves(torch.ones(3, H, W), region_mask(R1)[None], [1000], nothing, (0.0, 1.0))
    one = curves.box(0)
    assert one['deletion'] is None and one['insertion_auc'] is None  # not 1e-9 / 1e-9 ratios
    from mmyolo_vis.cam.faithfulness import short_summary
    assert short_summary(one) == 'del - ins -'
    assert short_summary(dict(deletion_auc=0.123, insertion_auc=0.64)) == 'del 0.12 ins 0.64'
