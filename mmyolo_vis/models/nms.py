"""NMS on the GPU when the installed mmcv has CPU kernels only.

mmcv built on a machine without a GPU has no CUDA kernel for ``nms``, which every YOLO head's
post-processing calls (through ``mmcv.ops.batched_nms``). Rather than copy boxes back to the CPU,
CUDA tensors go to ``torchvision.ops.nms`` (same kept indices, same order); mmcv keeps doing
everything around it (score filtering, ``max_num``, the per-class offset trick).
"""
from __future__ import annotations

import logging

import torch

logger = logging.getLogger('mmyolo_vis')


def torchvision_nms(bboxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, offset: int = 0):
    """mmcv's ``ext_module.nms`` contract: kept indices, highest score first."""
    import torchvision
    if offset:  # mmcv's legacy offset=1 counts x2, y2 as inside the box
        bboxes = bboxes.clone()
        bboxes[:, 2:] += offset
    return torchvision.ops.nms(bboxes.float(), scores.float(), float(iou_threshold))


class _ExtWithTorchvisionNMS:
    """Stands in for mmcv's compiled module: ``nms`` of CUDA tensors (or of all, when forced)
    goes to torchvision, everything else to mmcv."""

    def __init__(self, ext, force: bool = False):
        self._ext, self._force = ext, force

    def __getattr__(self, name):
        return getattr(self._ext, name)

    def nms(self, bboxes, scores, iou_threshold, offset=0):
        if self._force or bboxes.is_cuda:
            return torchvision_nms(bboxes, scores, iou_threshold, offset)
        return self._ext.nms(bboxes, scores, iou_threshold=iou_threshold, offset=offset)


def _mmcv_nms_module():
    # ``import mmcv.ops.nms as m`` would give the function: mmcv.ops re-exports ``nms`` over the module.
    import importlib
    return importlib.import_module('mmcv.ops.nms')


def mmcv_has_cuda_ops() -> bool:
    from mmcv.ops import get_compiling_cuda_version
    return get_compiling_cuda_version() not in ('not available', '')


def install_nms_fallback(force: bool = False) -> bool:
    """Route mmcv's NMS of CUDA tensors through torchvision when mmcv has no CUDA kernels.

    ``force`` routes every call (CPU tensors too): the test uses it to compare both paths.
    Returns whether the fallback is in place.
    """
    mmcv_nms = _mmcv_nms_module()
    current = mmcv_nms.ext_module
    if isinstance(current, _ExtWithTorchvisionNMS):
        current._force = current._force or force
        return True
    if not force and mmcv_has_cuda_ops():
        return False
    mmcv_nms.ext_module = _ExtWithTorchvisionNMS(current, force)
    if not force:
        logger.info('mmcv was built without CUDA ops: NMS runs on the GPU through torchvision.ops.nms')
    return True


def uninstall_nms_fallback():
    mmcv_nms = _mmcv_nms_module()
    if isinstance(mmcv_nms.ext_module, _ExtWithTorchvisionNMS):
        mmcv_nms.ext_module = mmcv_nms.ext_module._ext
