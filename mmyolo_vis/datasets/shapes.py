"""A seeded generator of a COCO-format detection dataset of shapes on cluttered backgrounds.

Its ground truth is known exactly, so the demo detector trained on it can be used to measure
whether a feature map or an activation map lands on an object. Everything here is a pure
function of a ``numpy.random.Generator``: the same seed gives byte-identical files.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CLASSES = ('circle', 'square', 'triangle', 'star')
# One colour per class for drawing detections (RGB).
PALETTE = [(220, 20, 60), (0, 130, 200), (60, 180, 75), (255, 200, 0)]


@dataclass
class ShapeObject:
    label: int
    polygon: np.ndarray  # (N, 2) float, image coordinates

    @property
    def bbox_xyxy(self):
        x1, y1 = self.polygon.min(axis=0)
        x2, y2 = self.polygon.max(axis=0)
        return float(x1), float(y1), float(x2), float(y2)


def _unit_polygon(label: int) -> np.ndarray:
    """Outline of a shape of radius 1 centred on the origin."""
    if label == 0:  # circle
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if label == 1:  # square
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) / math.sqrt(2) * 1.2
    if label == 2:  # triangle
        t = np.array([-90, 30, 150]) * np.pi / 180
        return np.stack([np.cos(t), np.sin(t)], 1)
    if label == 3:  # five-pointed star
        t = np.arange(10) * np.pi / 5 - np.pi / 2
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    raise ValueError(f'unknown label {label}')


def make_shape(rng: np.random.Generator, label: int, cx: float, cy: float, size: float) -> ShapeObject:
    """A shape whose larger box side is about ``size`` px, rotated and stretched at random."""
    pts = _unit_polygon(label)
    aspect = rng.uniform(0.75, 1.33)
    pts = pts * np.array([aspect, 1 / aspect])
    if label != 0:  # a rotated circle is still a circle (an ellipse after the stretch)
        a = rng.uniform(0, 2 * np.pi)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        pts = pts @ rot.T
    extent = (pts.max(0) - pts.min(0)).max()
    pts = pts * (size / extent)
    pts = pts - (pts.max(0) + pts.min(0)) / 2 + np.array([cx, cy])
    return ShapeObject(label, pts)


def _background(rng: np.random.Generator, h: int, w: int, noisy: bool = True) -> np.ndarray:
    kind = rng.integers(0, 4)
    base = rng.uniform(0, 255, 3)
    if kind == 0:  # flat colour
        img = np.ones((h, w, 3)) * base
    elif kind == 1:  # linear gradient
        other = rng.uniform(0, 255, 3)
        a = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        t = (xx * math.cos(a) + yy * math.sin(a))
        t = (t - t.min()) / max(t.max() - t.min(), 1)
        img = base + t[..., None] * (other - base)
    elif kind == 2:  # stripes
        other = rng.uniform(0, 255, 3)
        period = rng.uniform(6, 40)
        a = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        s = (np.sin((xx * math.cos(a) + yy * math.sin(a)) * 2 * np.pi / period) > 0)
        img = np.where(s[..., None], base, base * 0.6 + other * 0.4)
    else:  # smooth blotches
        small = rng.uniform(0, 255, (max(h // 64, 2), max(w // 64, 2), 3))
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    if noisy:
        img = img + rng.normal(0, rng.uniform(2, 18), (h, w, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_clutter(rng: np.random.Generator, img: np.ndarray, count: int):
    """Distractors that are not targets: lines, arcs, thin rectangles, dots."""
    h, w = img.shape[:2]
    for _ in range(count):
        colour = tuple(int(c) for c in rng.uniform(0, 255, 3))
        kind = rng.integers(0, 4)
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        reach = min(max(h, w) // 3, 300)
        if kind == 0:
            x2, y2 = x + int(rng.uniform(-reach, reach)), y + int(rng.uniform(-reach, reach))
            cv2.line(img, (x, y), (x2, y2), colour, int(rng.integers(1, 4)), cv2.LINE_AA)
        elif kind == 1:
            r = int(rng.uniform(8, max(9, min(h, w) // 5)))
            a0 = float(rng.uniform(0, 360))
            cv2.ellipse(img, (x, y), (r, r), 0, a0, a0 + float(rng.uniform(40, 200)), colour, 2, cv2.LINE_AA)
        elif kind == 2:
            cv2.rectangle(img, (x, y), (x + int(rng.uniform(20, 80)), y + int(rng.integers(2, 5))), colour, -1)
        else:
            cv2.circle(img, (x, y), int(rng.integers(1, 4)), colour, -1, cv2.LINE_AA)


def _contrasting_colour(rng: np.random.Generator, img: np.ndarray, obj: ShapeObject) -> tuple:
    x1, y1, x2, y2 = (int(v) for v in obj.bbox_xyxy)
    patch = img[max(y1, 0):y2 + 1, max(x1, 0):x2 + 1].reshape(-1, 3)
    mean = patch.mean(0) if len(patch) else np.full(3, 128.0)
    for _ in range(20):
        colour = rng.uniform(0, 255, 3)
        if np.abs(colour - mean).sum() > 180:
            break
    return tuple(int(c) for c in colour)


def _overlap(a, b) -> float:
    """Intersection over the smaller box's area: how much of the smaller one can be hidden."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def render_scene(rng: np.random.Generator, width: int, height: int, num_objects: int,
                 min_size: float, max_size: float, clutter: int, max_overlap: float = 0.3,
                 noisy: bool = True):
    """Draw one scene; returns the BGR image and its objects.

    Objects overlap partially: at most ``max_overlap`` of the smaller box lies under another.
    """
    img = _background(rng, height, width, noisy)
    _draw_clutter(rng, img, clutter)
    objects: list[ShapeObject] = []
    tries = 0
    while len(objects) < num_objects and tries < num_objects * 30:
        tries += 1
        # log-uniform sizes: small objects are as common as large ones per octave
        size = float(np.exp(rng.uniform(np.log(min_size), np.log(max_size))))
        label = int(rng.integers(0, len(CLASSES)))
        half = size / 2 + 2
        if width <= 2 * half or height <= 2 * half:
            continue
        obj = make_shape(rng, label, rng.uniform(half, width - half), rng.uniform(half, height - half), size)
        box = obj.bbox_xyxy
        if any(_overlap(box, o.bbox_xyxy) > max_overlap for o in objects):
            continue
        colour = _contrasting_colour(rng, img, obj)
        cv2.fillPoly(img, [np.round(obj.polygon * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)
        objects.append(obj)
    return img, objects


def coco_annotations(images: list[dict], objects_per_image: list[list[ShapeObject]]) -> dict:
    anns = []
    for img_info, objects in zip(images, objects_per_image):
        for obj in objects:
            x1, y1, x2, y2 = obj.bbox_xyxy
            w, h = round(x2 - x1, 2), round(y2 - y1, 2)
            anns.append(dict(id=len(anns) + 1, image_id=img_info['id'], category_id=obj.label + 1,
                             bbox=[round(x1, 2), round(y1, 2), w, h], area=round(w * h, 2), iscrowd=0,
                             segmentation=[[round(float(v), 2) for v in obj.polygon.reshape(-1)]]))
    return dict(
        info=dict(description='mmyolo-vis shapes dataset (generated)', version='1.0'),
        licenses=[],
        categories=[dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(CLASSES)],
        images=images,
        annotations=anns)


def write_json(path: Path, data: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')


def write_image(path: Path, img: np.ndarray, quality: int = 92):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(os.fspath(path), img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f'cannot write {path}')


def generate_split(root: Path, split: str, num_images: int, seed: int,
                   size_range=(256, 512), progress=None):
    """Ordinary scenes: varied sizes and aspect ratios, 1 to 8 objects from 12 px to half the image."""
    rng = np.random.default_rng(seed)
    images, objects = [], []
    for i in range(num_images):
        w = int(rng.integers(size_range[0], size_range[1] + 1))
        h = int(np.clip(w * rng.uniform(0.6, 1.4), size_range[0] * 0.75, size_range[1]))
        n = int(rng.integers(1, 9))
        img, objs = render_scene(rng, w, h, n, 12, min(w, h) / 2, clutter=int(rng.integers(0, 12)))
        name = f'{split}/{i:05d}.jpg'
        write_image(root / 'images' / name, img)
        images.append(dict(id=i + 1, file_name=name, width=w, height=h))
        objects.append(objs)
        if progress:
            progress()
    write_json(root / 'annotations' / f'{split}.json', coco_annotations(images, objects))


def generate_scene(image_path: Path, ann_path: Path, seed: int, width: int, height: int, num_objects: int,
                   min_size: float, max_size: float, clutter: int, max_overlap: float = 0.3,
                   noisy: bool = True, quality: int = 92) -> int:
    """One scene with its own annotation file; returns the number of objects."""
    rng = np.random.default_rng(seed)
    img, objs = render_scene(rng, width, height, num_objects, min_size, max_size, clutter, max_overlap, noisy)
    write_image(image_path, img, quality)
    info = dict(id=1, file_name=image_path.name, width=width, height=height)
    write_json(ann_path, coco_annotations([info], [objs]))
    return len(objs)


def generate_large_scene(image_path: Path, ann_path: Path, seed: int, width=4000, height=3000,
                         num_objects=180, min_size=12, max_size=40, quality=85) -> int:
    """A large scene holding many small objects, for sliced inference."""
    return generate_scene(image_path, ann_path, seed, width, height, num_objects, min_size, max_size,
                          clutter=num_objects, max_overlap=0.0, noisy=False, quality=quality)


def render_classification_image(rng: np.random.Generator, size: int, labels: list[int], min_frac: float = 0.3,
                                max_frac: float = 0.6, clutter: int | None = None):
    """One square picture with one shape per label (not overlapping), on a cluttered background, the shapes
    kept off the border (a centre crop of 8/9 of the side keeps them whole). Returns (BGR image, objects).

    A shape is drawn white or black, whichever stands out more from the background under it: with the
    detection set's random contrasting colours, a small classifier trained from scratch stayed at chance
    for several epochs (the colour varies more than the outline that tells the classes apart)."""
    img = _background(rng, size, size)
    _draw_clutter(rng, img, int(rng.integers(0, 6)) if clutter is None else clutter)
    objects: list[ShapeObject] = []
    margin = size / 18 + 2
    for label in labels:
        for _ in range(200):
            s = float(rng.uniform(min_frac, max_frac)) * size
            half = s / 2 + margin
            obj = make_shape(rng, label, rng.uniform(half, size - half), rng.uniform(half, size - half), s)
            if not any(_overlap(obj.bbox_xyxy, o.bbox_xyxy) > 0 for o in objects):
                break
        x1, y1, x2, y2 = (int(v) for v in obj.bbox_xyxy)
        under = img[max(y1, 0):y2 + 1, max(x1, 0):x2 + 1].reshape(-1, 3).mean()
        colour = (255, 255, 255) if under < 128 else (0, 0, 0)
        cv2.fillPoly(img, [np.round(obj.polygon * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)
        objects.append(obj)
    return img, objects


def generate_classification_split(root: Path, split: str, num_images: int, seed: int, size: int = 72,
                                  progress=None):
    """An image-classification split in MMPretrain's folder layout, ``<root>/<split>/<class>/<n>.jpg``, one
    shape per picture, and ``<root>/annotations/<split>.json`` (COCO format) with each shape's box."""
    rng = np.random.default_rng(seed)
    images, objects = [], []
    for i in range(num_images):
        label = int(rng.integers(0, len(CLASSES)))
        img, objs = render_classification_image(rng, size, [label])
        name = f'{split}/{CLASSES[label]}/{i:05d}.jpg'
        write_image(root / name, img)
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
        objects.append(objs)
        if progress:
            progress()
    write_json(root / 'annotations' / f'{split}.json', coco_annotations(images, objects))


def generate_classification_scene(image_path: Path, ann_path: Path, seed: int, labels: list[int], size: int = 192):
    """One picture with a shape of each label (the two-shape scenes of the classifier tests, larger), and
    its boxes in COCO format; returns the objects."""
    rng = np.random.default_rng(seed)
    img, objs = render_classification_image(rng, size, labels, 0.3, 0.38, clutter=2)
    write_image(image_path, img)
    write_json(ann_path, coco_annotations([dict(id=1, file_name=Path(image_path).name, width=size, height=size)],
                                          [objs]))
    return objs
