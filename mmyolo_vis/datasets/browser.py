"""What the model is fed: a dataset's images after each step of its pipeline, with their boxes."""
from __future__ import annotations

import copy
import os

import cv2
import numpy as np

from ..core.errors import UserError, first_line
from ..core.images import DEFAULT_MAX_PIXELS, check_image_file, read_image, swap_rb, to_bgr_uint8
from ..vis.visualizer import HeatmapVisualizer

MODES = ('original', 'transformed', 'concat', 'pipeline')


def build_dataset(cfg, phase: str):
    """The config's dataset for ``phase`` and the pipeline to run: nested wrappers (RepeatDataset,
    ClassBalancedDataset, ConcatDataset, ...) are unwrapped to the real dataset; the pipeline is the
    outermost one that has transforms (a mixing wrapper may hold it)."""
    from mmengine.registry import DATASETS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    key = f'{phase}_dataloader'
    if not any(cfg.get(f'{p}_dataloader') for p in ('train', 'val', 'test')):
        raise UserError('the config defines no dataset (no train/val/test_dataloader); give a training config '
                        'such as configs/yolov5/yolov5_n_shapes.py')
    if key not in cfg:
        raise UserError(f'the config has no {key}; pick another --phase')
    try:
        dataset = DATASETS.build(copy.deepcopy(cfg[key].dataset))
    except FileNotFoundError as e:
        raise UserError(f'cannot build the {phase} dataset: {e}; generate or download it first') from None
    except Exception as e:  # an annotation file that is not JSON, a dataset type that is not registered, ...
        raise UserError(f'cannot build the {phase} dataset ({type(e).__name__}: {first_line(e)}); check the '
                        f'config\'s {key}.dataset') from None
    pipeline = None
    while True:
        if pipeline is None and getattr(getattr(dataset, 'pipeline', None), 'transforms', None):
            pipeline = dataset.pipeline
        if hasattr(dataset, 'datasets'):
            dataset = dataset.datasets[0]
        elif hasattr(dataset, 'dataset'):
            dataset = dataset.dataset
        else:
            break
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    return dataset, list(pipeline.transforms) if pipeline is not None else []


def _boxes_of(results: dict):
    """(image BGR HWC uint8, boxes (N, 4) xyxy, labels (N,)) of a pipeline result at any step."""
    if 'inputs' in results and 'data_samples' in results:  # after PackDetInputs
        img = results['inputs'].permute(1, 2, 0).numpy()
        gt = results['data_samples'].gt_instances
        boxes = gt.bboxes.tensor if hasattr(gt.bboxes, 'tensor') else gt.bboxes
        return img, np.asarray(boxes), np.asarray(gt.labels)
    img = results.get('img')
    boxes = results.get('gt_bboxes')
    if boxes is None:
        return img, np.zeros((0, 4)), np.zeros((0,), int)
    boxes = boxes.tensor.numpy() if hasattr(boxes, 'tensor') else np.asarray(boxes)
    return img, boxes, np.asarray(results.get('gt_bboxes_labels', np.zeros(len(boxes), int)))


class DatasetBrowser:
    def __init__(self, cfg, phase: str = 'train', panel_size: int = 400, max_pixels: int | None = DEFAULT_MAX_PIXELS):
        self.max_pixels = max_pixels
        self.dataset, self.transforms = build_dataset(cfg, phase)
        if not self.transforms:
            raise UserError(f'the {phase} dataset has no pipeline to show')
        meta = self.dataset.metainfo
        self.classes = list(meta.get('classes', ()))
        self.palette = meta.get('palette')
        self.panel_size = panel_size
        self.visualizer = HeatmapVisualizer()

    def __len__(self):
        return len(self.dataset)

    def data_info(self, index: int) -> dict:
        info = copy.deepcopy(self.dataset.get_data_info(index))
        if not getattr(self.dataset, 'test_mode', True):
            info['dataset'] = self.dataset  # MMYOLO's mixing transforms (Mosaic, MixUp) draw other images here
        return info

    def steps(self, index: int):
        """Yields (transform name, result) after each transform, lazily: transforms change boxes in
        place, so draw a step before asking for the next. Stops early if a transform drops the sample."""
        results = self.data_info(index)
        path = results.get('img_path', f'sample {index}')
        if 'img_path' in results:  # the pipeline's loader decodes with no pixel limit: the header is read first
            check_image_file(path, self.max_pixels)
        for t in self.transforms:
            try:
                results = t(results)
            except FileNotFoundError:
                raise UserError(f'{path}: no such file') from None
            except Exception as e:  # a picture the loading transform cannot decode, and the like: this sample's
                raise UserError(f'{path}: {type(t).__name__} failed ({first_line(e)})') from None
            if results is None:
                return
            yield type(t).__name__, results

    def draw(self, img_bgr, boxes, labels) -> np.ndarray:
        """RGB picture with the boxes and class names."""
        rgb = swap_rb(to_bgr_uint8(np.asarray(img_bgr)))
        return self.visualizer.draw_detections(rgb, boxes, labels, None, self.classes, self.palette)

    def fit(self, rgb: np.ndarray, size: int | None = None) -> np.ndarray:
        """Scale into a size x size square (keeping the aspect ratio), white around."""
        size = size or self.panel_size
        h, w = rgb.shape[:2]
        s = size / max(h, w)
        small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        out = np.full((size, size, 3), 255, np.uint8)
        y, x = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
        out[y:y + small.shape[0], x:x + small.shape[1]] = small
        return out

    def original(self, index: int) -> np.ndarray:
        info = self.dataset.get_data_info(index)
        img = read_image(info['img_path'], self.max_pixels)
        inst = [i for i in info.get('instances', []) if not i.get('ignore_flag', 0)]
        boxes = np.array([i['bbox'] for i in inst], np.float32).reshape(-1, 4)
        labels = np.array([i['bbox_label'] for i in inst], int)
        return self.draw(img, boxes, labels)

    def transformed(self, index: int) -> np.ndarray | None:
        last, count = None, 0
        for count, (_, results) in enumerate(self.steps(index), 1):
            last = results
        return self.draw(*_boxes_of(last)) if count == len(self.transforms) else None

    def concat(self, index: int) -> np.ndarray | None:
        t = self.transformed(index)
        if t is None:
            return None
        left = self.visualizer._titled(self.fit(self.original(index)), 'original', 1)
        right = self.visualizer._titled(self.fit(t), 'transformed', 1)
        return np.hstack([left, right])

    def pipeline_panels(self, index: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(caption, panel, boxes) per transform: boxes as the step left them, in that step's pixels."""
        panels = []
        for i, (name, results) in enumerate(self.steps(index)):
            img, boxes, labels = _boxes_of(results)
            h, w = np.asarray(img).shape[:2]
            panels.append((f'{i + 1}. {name} {h}x{w}', self.fit(self.draw(img, boxes, labels)), boxes.copy()))
        return panels

    def pipeline(self, index: int) -> np.ndarray | None:
        panels = self.pipeline_panels(index)
        if len(panels) != len(self.transforms):
            return None
        return self.visualizer.arrange([[(caption, panel)] for caption, panel, _ in panels])

    def render(self, mode: str, index: int) -> np.ndarray | None:
        if mode not in MODES:
            raise UserError(f'--mode {mode!r}: use one of {", ".join(MODES)}')
        return getattr(self, mode)(index)

    def image_name(self, index: int) -> str:
        return os.path.basename(self.dataset.get_data_info(index)['img_path'])
