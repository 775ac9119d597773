"""Box-level activation maps: one map per detection, aligned on the original image."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..cam.gradient import GLOBAL_WEIGHT_METHODS, GRADIENT_METHODS
from ..core.errors import SettingsError, UserError
from ..core.images import swap_rb
from ..models.capture import capture
from ..models.geometry import LetterboxMeta, align_to_image, to_input_coords
from .cams import build_cam
from .encoder_grids import release as release_encoder_grids, resolve_target_layers
from .kinds import build_scores, default_target_layers
from .scores import BoxScoreTarget

logger = logging.getLogger('mmyolo_vis')


@dataclass
class BoxMaps:
    boxes: np.ndarray  # (K, 4) original-image pixels
    labels: np.ndarray
    scores: np.ndarray
    maps: np.ndarray  # (K, H, W) in [0, 1], original-image pixels
    # what a faithfulness measure needs to rerun the network on this picture (``detection.faithfulness``)
    priors: list[int] | None = None  # each box's prior (its map's target)
    inputs: torch.Tensor | None = None  # the network input (1, 3, h, w)
    meta: LetterboxMeta | None = None

    def combined(self, norm_in_bbox: bool = False) -> np.ndarray:
        """One map for the picture: the max over boxes (each normalised inside its box with norm_in_bbox)."""
        if not len(self.maps):
            return np.zeros(self.maps.shape[1:], np.float32)
        if not norm_in_bbox:
            return self.maps.max(0)
        out = np.zeros(self.maps.shape[1:], np.float32)
        h, w = out.shape
        for m, (x1, y1, x2, y2) in zip(self.maps, self.boxes):
            x1, y1 = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
            x2, y2 = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
            if x2 <= x1 or y2 <= y1:
                continue
            inside = m[y1:y2, x1:x2]
            inside = (inside - inside.min()) / (inside.max() - inside.min() + 1e-7)
            out[y1:y2, x1:x2] = np.maximum(out[y1:y2, x1:x2], inside)
        return out


def align_maps(maps: np.ndarray, meta: LetterboxMeta) -> np.ndarray:
    """(K, h, w) maps on the network input -> (K, H, W) float32 on the original image in [0, 1] (NaN as 0).
    One map given to every box (EigenCAM's, a broadcast view) is aligned once and given again as a view."""
    if len(maps) > 1 and maps.strides[0] == 0:
        one = align_maps(maps[:1], meta)
        return np.broadcast_to(one, (len(maps), *one.shape[1:]))
    out = None
    for k, m in enumerate(maps):
        aligned = align_to_image(m, meta)
        if out is None:
            out = np.empty((len(maps), *aligned.shape), np.float32)
        np.clip(np.nan_to_num(aligned, copy=False), 0, 1, out=out[k])
    return out


def check_settings(ratio_channels_to_ablate: float, batch_size: int, num_masks: int, topk: int = -1):
    if topk == 0 or topk < -1:
        raise UserError(f'--topk {topk}: give how many boxes to explain (a positive number), or -1 for all')
    if not 0 < ratio_channels_to_ablate <= 1:
        raise UserError(f'--ratio-channels-to-ablate {ratio_channels_to_ablate}: use a value in (0, 1]')
    if batch_size < 1 or num_masks < 1:
        raise UserError('--batch-size and --num-masks must be positive')


class BoxAM:
    """Builds the CAM once; ``run(image)`` gives the detections and one map per box."""

    def __init__(self, runner, method: str = 'gradcam', target_layers: list[str] | None = None,
                 score_thr: float = 0.3, topk: int = 10, classes: list[str] | None = None, batch_size: int = 32,
                 ratio_channels_to_ablate: float = 1.0, num_masks: int = 1000, aug_smooth: bool = False,
                 eigen_smooth: bool = False, fast_ablation: bool = True):
        self.runner = runner
        self.wrapper = build_scores(runner.model, method)  # checks the kind first
        if target_layers or self.wrapper.kind != 'predictions':
            self.layer_names = list(target_layers or default_target_layers(runner.model))
        else:  # D-RISE on a detector of no known kind: no layer is looked at
            self.layer_names = []
        check_settings(ratio_channels_to_ablate, batch_size, num_masks, topk)
        self.class_ids = None
        if classes:
            known = list(runner.classes)
            unknown = [c for c in classes if c not in known]
            if unknown:
                raise UserError(f'--classes {" ".join(unknown)}: not a class of this model '
                                f'(it knows {", ".join(known[:20])}{"..." if len(known) > 20 else ""})')
            self.class_ids = [known.index(c) for c in classes]
        self.method, self.score_thr, self.topk = method, score_thr, topk
        self.eigen_smooth = eigen_smooth
        self.batch_size = batch_size
        self.said: set[str] = set()  # notes already given in this run
        # ``encoder`` on a DETR: its output tokens as per-level grids (hooks on the model until ``close``)
        layers, canonical, self._encoder_grids = resolve_target_layers(runner.model, self.layer_names)
        try:
            self.cam = build_cam(method, self.wrapper, list(layers), list(canonical), batch_size,
                                 ratio_channels_to_ablate, num_masks, aug_smooth, fast_ablation)
        except Exception:
            release_encoder_grids(runner.model, self._encoder_grids)
            raise
        self.layers = list(layers)

    def close(self):
        """Take the CAM's hooks off the model: for a model that goes on being used (training), or a run that
        builds one BoxAM per method on one model (the hooks of a CAM no longer used would keep the activations
        of every later forward pass)."""
        from ..cam.base import release
        release(getattr(self.cam, 'cam', None), self.layers)
        release_encoder_grids(self.runner.model, self._encoder_grids)
        self._encoder_grids = 0

    def detections(self, data):
        """-> (kept detections, letterbox meta, the head's input features of that same forward pass)."""
        feat_layer = 'neck' if getattr(self.runner.model, 'with_neck', True) else 'backbone'
        with capture(self.runner.model, [feat_layer]) as cap:
            result = self.runner.predict(data)[0]
        feats = list(cap.maps.values())
        inst = result.pred_instances
        keep = inst.scores > self.score_thr
        if self.class_ids is not None:
            keep &= torch.isin(inst.labels, torch.tensor(self.class_ids, device=inst.labels.device))
        inst = inst[keep]
        order = torch.argsort(inst.scores, descending=True)
        if self.topk > 0:
            order = order[:self.topk]
        return inst[order], LetterboxMeta.from_metainfo(result.metainfo), feats

    def run(self, image_bgr: np.ndarray) -> BoxMaps:
        data = self.runner.preprocess(self.runner.prepare([image_bgr]))
        inst, meta, feats = self.detections(data)
        boxes = inst.bboxes.float().cpu().numpy()
        labels, scores = inst.labels.cpu().numpy(), inst.scores.float().cpu().numpy()
        inputs = data['inputs']
        self.wrapper.prepare(data, feats)  # what the kind keeps from this pass (proposals, data samples)
        if not len(boxes):
            return BoxMaps(boxes, labels, scores, np.zeros((0, *image_bgr.shape[:2]), np.float32), [], inputs, meta)
        with torch.no_grad():  # every prior's decoded score and box, from the detection pass's features
            all_scores, all_boxes = self.wrapper.head(feats)
        boxes_in = torch.from_numpy(to_input_coords(boxes, meta)).to(all_boxes.device)
        priors = self.wrapper.match(all_scores[0], all_boxes[0], boxes_in, torch.from_numpy(labels),
                                    torch.from_numpy(scores).to(all_scores.device))
        self.last_targets = [(p, int(l), float(all_scores[0, p, l])) for p, l in zip(priors, labels)]
        gradients = self.method in GRADIENT_METHODS
        targets = [BoxScoreTarget(p, l, reach_every_layer=gradients) for p, l in zip(priors, labels)]
        # D-RISE and the methods that run the network once for every box take them all at once; the others
        # run a batch of boxes through the network, so a few at a time bound the memory.
        chunk = len(targets) if self.cam.shares_input else min(self.batch_size, 8)
        maps_in, blank = [], 0
        for s in range(0, len(targets), chunk):
            try:
                maps_in.append(self.cam(inputs, boxes_in[s:s + chunk], torch.from_numpy(labels[s:s + chunk]),
                                        targets[s:s + chunk], self.eigen_smooth))
            except (TypeError, AttributeError, IndexError) as e:  # a layer off the path to the scores
                raise SettingsError(f'--target-layers {" ".join(self.layer_names)}: a layer gets no gradient '
                                    f'from the box scores ({e.__class__.__name__}); pick layers before the head '
                                    'such as the neck outputs') from None
            if gradients:
                blank += self._boxes_without_gradient()
        if blank:
            self._note_once('blank', '%d box map%s blank: %s score does not depend on --target-layers %s (the box '
                            'comes from a finer pyramid level); without --target-layers every level is used',
                            blank, ' is' if blank == 1 else 's are', 'its' if blank == 1 else 'their',
                            ' '.join(self.layer_names))
        if self.method in GLOBAL_WEIGHT_METHODS and len(set(labels.tolist())) < len(labels):
            self._note_once('class map', '%s weights each channel by its gradient averaged over the whole map, so '
                            'boxes of one class get much the same map (the evidence for the class); for the map of '
                            'one box alone use --method hirescam or layercam', self.method)
        return BoxMaps(boxes, labels, scores, align_maps(maps_in[0] if len(maps_in) == 1 else np.concatenate(maps_in),
                                                         meta), priors, inputs, meta)

    def _note_once(self, key: str, message: str, *args):
        """A note the user can act on, given once per run."""
        if key not in self.said:
            self.said.add(key)
            logger.warning('note: ' + message, *args)

    def _boxes_without_gradient(self) -> int:
        """How many boxes of the last chunk got a zero gradient at every target layer (their maps are blank).
        A box's score depends on its prior's pyramid level and, through the neck's bottom-up path, on the
        finer levels, never on a coarser one."""
        grads = self.cam.cam.activations_and_grads.gradients
        return sum(all(float(g[b].abs().sum()) == 0 for g in grads) for b in range(len(grads[0])))


class BoxAMRenderer:
    def __init__(self, classes, palette, alpha=0.5, show_labels=True):
        from ..vis.visualizer import HeatmapVisualizer
        self.visualizer = HeatmapVisualizer(alpha=alpha)
        self.classes, self.palette, self.alpha = classes, palette, alpha
        self.show_labels = show_labels

    def picture(self, image_bgr: np.ndarray, heat: np.ndarray | None, boxes, labels, scores) -> np.ndarray:
        rgb = swap_rb(image_bgr)
        if heat is not None:
            from ..vis.visualizer import overlay_heatmap
            rgb = overlay_heatmap(heat, rgb, self.alpha)
        return self.visualizer.draw_detections(rgb, boxes, labels, scores, self.classes, self.palette,
                                               show_labels=self.show_labels)

    def result_picture(self, image_bgr: np.ndarray, res: BoxMaps, norm_in_bbox: bool = False) -> np.ndarray:
        """The demo's picture of one image: every box's map combined under the detections (the detections
        alone when there is no box)."""
        heat = res.combined(norm_in_bbox) if len(res.boxes) else None
        return self.picture(image_bgr, heat, res.boxes, res.labels, res.scores)
