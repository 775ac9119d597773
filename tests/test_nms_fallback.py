import torch

from mmyolo_vis.models.nms import install_nms_fallback, uninstall_nms_fallback


def random_boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 200
    wh = torch.rand(n, 2, generator=g) * 60 + 2
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g)


def test_fallback_keeps_the_same_indices_as_mmcv():
    from mmcv.ops import batched_nms, nms
    for seed in range(5):
        boxes, scores = random_boxes(300, seed)
        labels = torch.randint(0, 4, (300,), generator=torch.Generator().manual_seed(seed))
        for offset in (0, 1):
            ref_dets, ref_inds = nms(boxes, scores, 0.5, offset=offset)
            ref_b, ref_k = batched_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.6))
            install_nms_fallback(force=True)
            try:
                dets, inds = nms(boxes, scores, 0.5, offset=offset)
                b, k = batched_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.6))
                filtered, finds = nms(boxes, scores, 0.5, score_threshold=0.3, max_num=10)
            finally:
                uninstall_nms_fallback()
            assert 20 < len(ref_inds) < 300
            assert torch.equal(inds, ref_inds)
            assert torch.allclose(dets, ref_dets)
            assert torch.equal(k, ref_k) and torch.allclose(b, ref_b)
            ref_f, ref_finds = nms(boxes, scores, 0.5, score_threshold=0.3, max_num=10)
            assert torch.equal(finds, ref_finds) and len(finds) == 10


def test_cpu_tensors_stay_on_mmcv_when_not_forced(monkeypatch):
    import importlib

    import mmyolo_vis.models.nms as fallback
    from mmcv.ops import get_compiling_cuda_version, nms
    m = importlib.import_module('mmcv.ops.nms')
    calls = []
    monkeypatch.setattr(fallback, 'torchvision_nms', lambda *a, **k: calls.append(1))
    installed = install_nms_fallback()
    try:
        assert installed == (get_compiling_cuda_version() == 'not available')
        boxes, scores = random_boxes(50, 0)
        dets, inds = nms(boxes, scores, 0.5)
        assert len(inds) > 5 and calls == []
    finally:
        uninstall_nms_fallback()
    assert not isinstance(m.ext_module, fallback._ExtWithTorchvisionNMS)
