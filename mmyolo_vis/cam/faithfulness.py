"""Does the model depend on the pixels a map ranks first? Deletion and insertion curves of one reference box,
for any model: the caller gives ``score_fn(images) -> (B, K)`` scores of its K reference boxes (or classes).

Protocol of the ODAM authors' evaluation (Cyang-Zhao/ODAM, ``tools/eval_delet.py``, ``tools/eval_insert.py``):

- the pixels of the network input are ranked by the box's map, highest first (over the whole picture: a map
  may point outside its box); each step takes the next 1 % of the reference box's area (at least one pixel);
- deletion replaces them with uniform random values of the input's pixel range, insertion puts them back
  onto a black picture (or, as a named option, a blurred one); the model scores every ``every`` steps,
  which with the start gives 11 points for the default 100 / 10;
- each point's score is divided by the score of the untouched picture; the AUC is the trapezoid rule over
  the fraction of the box's area, 0 to 1 (deletion: lower is more faithful; insertion: higher).

Where this differs from ODAM's code, and why:

- ties in the ranking (a box used as a map, a map that is flat outside its peak) are broken by a seeded
  random order instead of the row-major order of ``np.argsort``, which would erase a flat region from its top
  rows down and so reward or punish where the object happens to sit;
- the random values come from one seeded random picture per image (every step and every method draw the same
  value for a pixel), not fresh draws per step: runs repeat exactly and methods are compared on equal terms;
- insertion is divided by the untouched picture's score, as deletion (ODAM leaves it raw), and its first
  point is measured (the black or blurred start), not assumed to be 0;
- the perturbed pictures are batched: the points of one box, and of several boxes, go through the network
  together (ODAM runs one picture per forward pass).

ROAD (Rong et al., ICML 2022) is pytorch-grad-cam's ``ROADCombined`` as it is (``road_combined``); the maps
only get their ties broken (``road_maps``) and the imputer's noise a seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

INSERTION_STARTS = ('black', 'blur')
BASELINES = ('random', 'box', 'gaussian')
METRICS = ('pointing', 'energy', 'deletion', 'insertion', 'road')  # what the evaluation tools measure
MIN_SCORE = 1e-3  # below this score on the untouched input there is nothing to lose: no curve (None)
ROAD_PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)  # pytorch-grad-cam's ROADCombined default


@dataclass(frozen=True)
class Protocol:
    steps: int = 100  # each step changes 1/steps of the reference box's area
    every: int = 10  # the model scores every `every` steps (and the start)
    insertion_start: str = 'black'  # or 'blur'
    blur_sigma: float = 5.0  # input pixels, for insertion_start='blur'
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1 or self.every < 1 or self.steps % self.every:
            raise ValueError(f'steps {self.steps} must be a positive multiple of every {self.every}')
        if self.insertion_start not in INSERTION_STARTS:
            raise ValueError(f'insertion start {self.insertion_start!r}: use one of {", ".join(INSERTION_STARTS)}')

    @property
    def step_points(self) -> np.ndarray:
        """The steps at which the model scores: 0, every, 2 every, ..., steps."""
        return np.arange(0, self.steps + 1, self.every)

    @property
    def fractions(self) -> np.ndarray:
        return self.step_points / self.steps


def check_metrics(metrics) -> list[str]:
    from ..core.errors import UserError
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise UserError(f'--metrics {" ".join(unknown)}: use some of {" ".join(METRICS)}')
    return list(dict.fromkeys(metrics))


def auc(fractions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Trapezoid rule over the last axis."""
    values = np.asarray(values, np.float64)
    widths = np.diff(np.asarray(fractions, np.float64))
    return ((values[..., 1:] + values[..., :-1]) * 0.5 * widths).sum(-1)


def ranking(saliency: np.ndarray, valid: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Flat indices of the (valid) pixels, highest value first; equal values in a seeded random order."""
    flat = np.asarray(saliency, np.float64).reshape(-1)
    idx = np.arange(flat.size) if valid is None else np.flatnonzero(np.asarray(valid).reshape(-1))
    ties = np.random.default_rng(seed).random(idx.size)
    return idx[np.lexsort((ties, -np.nan_to_num(flat[idx], nan=-np.inf)))]


def pixels_per_step(box_area: float, steps: int) -> int:
    return max(1, int(box_area / steps))


def baseline_maps(kind: str, hw: tuple[int, int], boxes: np.ndarray, seed: int = 0) -> np.ndarray:
    """Maps that know nothing of the model, for K boxes on an (h, w) picture: ``random`` (seeded uniform noise,
    one per box), ``box`` (1 inside the box, 0 outside), ``gaussian`` (centred on the box, sigma a quarter of
    its width and height, so that its edges lie at two sigmas)."""
    h, w = hw
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if kind == 'random':
        return np.stack([np.random.default_rng(seed + 1000 + k).random((h, w), dtype=np.float32)
                         for k in range(len(boxes))]) if len(boxes) else np.zeros((0, h, w), np.float32)
    ys, xs = np.arange(h) + 0.5, np.arange(w) + 0.5  # pixel centres
    out = np.zeros((len(boxes), h, w), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        if kind == 'box':
            inside_y = (ys >= y1) & (ys <= y2)
            inside_x = (xs >= x1) & (xs <= x2)
            out[k] = inside_y[:, None] & inside_x[None, :]
        elif kind == 'gaussian':
            sx, sy = max((x2 - x1) / 4, 0.5), max((y2 - y1) / 4, 0.5)
            gy = np.exp(-0.5 * ((ys - (y1 + y2) / 2) / sy) ** 2)
            gx = np.exp(-0.5 * ((xs - (x1 + x2) / 2) / sx) ** 2)
            out[k] = gy[:, None] * gx[None, :]
        else:
            raise ValueError(f'baseline {kind!r}: use one of {", ".join(BASELINES)}')
    return out


@dataclass
class Curves:
    """Normalised scores (K, P) at ``fractions`` (P,) of each reference box's area; None for a mode not run."""
    fractions: np.ndarray
    deletion: np.ndarray | None = None
    insertion: np.ndarray | None = None
    original: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,) raw scores of the untouched input

    def deletion_auc(self) -> np.ndarray:
        return auc(self.fractions, self.deletion)

    def insertion_auc(self) -> np.ndarray:
        return auc(self.fractions, self.insertion)

    def box(self, k: int) -> dict:
        """One box's curves and AUCs, as plain numbers (for JSON); None where the untouched input's score is
        below ``MIN_SCORE`` (a class the model gives no probability: its ratios would be noise over noise)."""
        out = dict(fractions=[round(float(f), 4) for f in self.fractions])
        if len(self.original) and not self.original[k] > MIN_SCORE:
            for m in ('deletion', 'insertion'):
                if getattr(self, m) is not None:
                    out.update({m: None, f'{m}_auc': None})
            return out
        if self.deletion is not None:
            out.update(deletion=[float(v) for v in self.deletion[k]], deletion_auc=float(self.deletion_auc()[k]))
        if self.insertion is not None:
            out.update(insertion=[float(v) for v in self.insertion[k]], insertion_auc=float(self.insertion_auc()[k]))
        return out


def input_value_range(data_preprocessor) -> tuple:
    """(low, high) per channel of the network input for pixel values 0 and 255, through an MMEngine data
    preprocessor's normalisation (mean and std in the input's channel order); (0, 255) without one."""
    if data_preprocessor is None or not getattr(data_preprocessor, '_enable_normalize', False):
        return 0.0, 255.0
    mean = data_preprocessor.mean.detach().float().reshape(-1).cpu()
    std = data_preprocessor.std.detach().float().reshape(-1).cpu()
    return (0 - mean) / std, (255 - mean) / std


def _channel_values(value, image: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=image.dtype, device=image.device).reshape(-1, 1, 1).expand(image.shape[0], 1, 1)


def fill_images(image: torch.Tensor, value_range, protocol: Protocol) -> tuple[torch.Tensor, torch.Tensor]:
    """(deletion fill, insertion start), both (C, H, W) like ``image``: seeded uniform random values in the
    input's range (``value_range`` = (low, high), scalars or one per channel, in the network's units), and a
    black (the range's low end) or blurred picture."""
    low, high = (_channel_values(v, image) for v in value_range)
    gen = torch.Generator().manual_seed(protocol.seed)
    noise = torch.rand(image.shape, generator=gen, dtype=torch.float32).to(image)
    random_fill = low + (high - low) * noise
    if protocol.insertion_start == 'black':
        start = low.expand_as(image).clone()
    else:
        import cv2
        arr = image.detach().float().cpu().numpy().transpose(1, 2, 0)
        blurred = cv2.GaussianBlur(np.ascontiguousarray(arr), (0, 0), protocol.blur_sigma,
                                   borderType=cv2.BORDER_REFLECT)
        start = torch.from_numpy(blurred.reshape(arr.shape).transpose(2, 0, 1).copy()).to(image)
    return random_fill, start


def faithfulness_curves(image: torch.Tensor, saliency: np.ndarray, box_areas, score_fn: Callable,
                        value_range=(0.0, 1.0), protocol: Protocol = Protocol(), valid: np.ndarray | None = None,
                        modes=('deletion', 'insertion'), batch_size: int = 16, orders=None) -> Curves:
    """Deletion and insertion curves of K maps on one input.

    image: (C, H, W) network input; saliency: (K, H, W) maps on that input; box_areas: (K,) reference box
    areas in input pixels; score_fn(images (B, C, H, W)) -> (B, K) raw scores of the K references, which
    runs the network once per batch; valid: (H, W) the pixels that may change (the picture inside the
    letterbox padding; default all). Every perturbed picture (the points of every box) goes through
    ``score_fn`` in batches of ``batch_size``."""
    k_boxes = len(saliency)
    step_points = protocol.step_points
    fractions = protocol.fractions
    if k_boxes == 0:
        return Curves(fractions, np.zeros((0, len(fractions))) if 'deletion' in modes else None,
                      np.zeros((0, len(fractions))) if 'insertion' in modes else None)
    if orders is None:
        orders = [ranking(saliency[k], valid, protocol.seed + k) for k in range(k_boxes)]
    per_step = [pixels_per_step(a, protocol.steps) for a in box_areas]
    random_fill, start = fill_images(image, value_range, protocol)
    c = image.shape[0]
    flat_image, flat_fill, flat_start = image.reshape(c, -1), random_fill.reshape(c, -1), start.reshape(c, -1)

    def perturbed(mode: str, k: int, step: int) -> torch.Tensor:
        idx = torch.as_tensor(orders[k][:step * per_step[k]], device=image.device)
        out = (flat_image if mode == 'deletion' else flat_start).clone()
        out[:, idx] = (flat_fill if mode == 'deletion' else flat_image)[:, idx]
        return out.view_as(image)

    # the two pictures every box shares (untouched, and the insertion's start) in one batch
    firsts = [image] + ([start] if 'insertion' in modes else [])
    with torch.no_grad():
        first_scores = np.asarray(_as_numpy(score_fn(torch.stack(firsts))), np.float64).reshape(len(firsts), k_boxes)
    original = first_scores[0]
    raw = {m: np.zeros((k_boxes, len(step_points))) for m in modes}
    if 'deletion' in raw:
        raw['deletion'][:, 0] = original
    if 'insertion' in raw:
        raw['insertion'][:, 0] = first_scores[1]
    jobs = [(m, k, j) for m in modes for k in range(k_boxes) for j in range(1, len(step_points))]
    from ..core.progress import progress_bar
    starts = range(0, len(jobs), batch_size)  # a bar once it takes more than a few seconds
    for s in progress_bar(len(starts), 'faithfulness', 'batch', iterable=starts, delay=3.0, leave=False):
        chunk = jobs[s:s + batch_size]
        batch = torch.stack([perturbed(m, k, int(step_points[j])) for m, k, j in chunk])
        with torch.no_grad():
            scores = np.asarray(_as_numpy(score_fn(batch)), np.float64).reshape(len(chunk), k_boxes)
        for row, (m, k, j) in enumerate(chunk):
            raw[m][k, j] = scores[row, k]
    norm = np.where(original > 0, original, np.inf)[:, None]  # no score to lose: the curve is 0
    return Curves(fractions, raw['deletion'] / norm if 'deletion' in raw else None,
                  raw['insertion'] / norm if 'insertion' in raw else None, original)


def _as_numpy(x):
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def verdict(deletion: float | None, insertion: float | None, random_deletion: float | None,
            random_insertion: float | None) -> str:
    """'informative' when the map beats the random map on deletion (lower) and insertion (higher), 'partly'
    on one of them, 'no better than random' on neither."""
    wins = []
    if deletion is not None and random_deletion is not None:
        wins.append(deletion < random_deletion)
    if insertion is not None and random_insertion is not None:
        wins.append(insertion > random_insertion)
    if not wins:
        return '-'
    return 'informative' if all(wins) else 'partly' if any(wins) else 'no better than random'


def short_summary(row: dict) -> str:
    """'del 0.12 ins 0.64' (and 'road 0.30') of one box's measures, for a panel title."""
    keys = (('del', 'deletion_auc'), ('ins', 'insertion_auc'), ('road', 'road'))
    parts = [f'{short} {row[key]:.2f}' if row[key] is not None else f'{short} -' for short, key in keys if key in row]
    return ' '.join(parts)


def mean_summary(rows: list[dict]) -> dict:
    """The mean AUCs (and ROAD) over boxes."""
    out = {}
    for key in ('deletion_auc', 'insertion_auc', 'road'):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[key] = float(np.mean(values))
    return out


def road_maps(maps: np.ndarray, valid: np.ndarray | None, seed: int = 0) -> np.ndarray:
    """Maps for ROAD's percentile thresholds: equal values (a flat box, a blank level) told apart by seeded
    noise far below any map's step, the pixels outside ``valid`` (the padding) below every map value."""
    rng = np.random.default_rng(seed)
    out = np.asarray(maps, np.float32) + 1e-5 * rng.random(maps.shape, dtype=np.float32)
    if valid is not None:
        out[:, ~valid] = -1.0
    return out


def road_combined(model, inputs: torch.Tensor, maps: np.ndarray, targets, percentiles=ROAD_PERCENTILES,
                  batch_size: int = 16, seed: int = 0) -> np.ndarray:
    """pytorch-grad-cam's ROADCombined ((LeRF - MoRF) / 2 of the target's score change, averaged over the
    percentiles; higher is more faithful) of K maps (K, h, w) on one input (1, C, h, w)."""
    from pytorch_grad_cam.metrics.road import ROADCombined
    metric = ROADCombined(percentiles=list(percentiles))
    out = []
    with torch.random.fork_rng(devices=[]):  # the imputer's noise (torch.randn_like): seeded, so runs repeat
        torch.manual_seed(seed)
        for s in range(0, len(maps), batch_size):
            n = len(maps[s:s + batch_size])
            out.append(np.asarray(metric(inputs.expand(n, *inputs.shape[1:]), maps[s:s + n], targets[s:s + n],
                                         model), np.float64).reshape(n))
    return np.concatenate(out) if out else np.zeros(0)
