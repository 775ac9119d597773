"""What box maps cost on each MMDetection detector kind (issue 21): time per image and per box of every method,
side by side with one inference, on a dense, a two-stage and a DETR-family model; and AblationCAM (ours: the
neck and head rerun once per channel batch for every box) against pytorch-grad-cam's own AblationCAM (the
whole network rerun per channel batch and per box) on the same boxes of the dense model.

    .venv/bin/python benchmarks/boxam_mmdet_cost.py [--size 320] [--boxes 5] [--repeats 2]
        [--dense-config C --dense-checkpoint W] [--two-stage-config C ...] [--detr-config C ...]

Without a config for a kind, the model is MMDetection's own config (FCOS, Faster R-CNN, DINO) shrunk as in the
mechanics tests (tests/mmdet_models.py: ResNet-18 at a quarter width, one transformer layer) with random
weights, at ``--size`` px: the k best boxes of a random model, whatever they hold (the cost does not depend on
what a box shows). The picture is a generated shapes scene (320x240). Goal: AblationCAM <= 0.1x
pytorch-grad-cam's on the dense model.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import best_of  # noqa: E402  (benchmarks/, the script's own folder)
sys.path.insert(0, str(ROOT / 'tests'))

DEFAULTS = {'dense': 'fcos', 'two-stage': 'faster_rcnn', 'detr': 'dino'}



def build(kind, args):
    from mmyolo_vis.models.detector import ModelRunner
    config = getattr(args, f'{kind.replace("-", "_")}_config')
    if config:
        ckpt = getattr(args, f'{kind.replace("-", "_")}_checkpoint')
        return ModelRunner(config, ckpt, 'cpu'), -1.0 if ckpt is None else args.score_thr, config
    import mmdet_models
    mmdet_models.PIPELINE[1] = dict(type='Resize', scale=(args.size, args.size), keep_ratio=True)
    name = DEFAULTS[kind]
    return mmdet_models.small_runner(name), -1.0, f'{mmdet_models.CONFIGS[name]} (shrunk, random weights)'


def scene():
    import numpy as np

    from mmyolo_vis.datasets.shapes import render_scene
    image, _ = render_scene(np.random.default_rng(7), 320, 240, 8, 24, 90, clutter=2, max_overlap=0.1)
    return image


def kind_rows(kind, args, image):
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.detection.cams import METHODS
    runner, thr, what = build(kind, args)
    cams = {m: BoxAM(runner, m, score_thr=thr, topk=args.boxes, batch_size=args.batch_size,
                     num_masks=args.num_masks, ratio_channels_to_ablate=args.ratio) for m in METHODS}
    k = len(cams['gradcam'].run(image).boxes)
    for c in cams.values():  # warm up
        c.run(image)
    fns = {'inference': lambda: runner.infer([image])}
    fns.update({m: (lambda c=c: c.run(image)) for m, c in cams.items()})
    best = {key: float('inf') for key in fns}
    for _ in range(args.repeats):  # interleaved round by round: the machine is shared and noisy
        for key, fn in fns.items():
            best[key] = min(best[key], best_of(fn, 1))
    print(f'\n[{kind}] {what}, {k} boxes')
    print('| method | per image (s) | per box (s) | x one inference |')
    print('|---|---|---|---|')
    print(f'| one inference | {best["inference"]:.3f} | - | 1.0 |')
    for m in METHODS:
        extra = f' ({args.num_masks} masks)' if m == 'drise' else \
            f' ({args.ratio:g} of the channels)' if m == 'ablationcam' and args.ratio < 1 else ''
        print(f'| {m}{extra} | {best[m]:.3f} | {best[m] / max(k, 1):.3f} | {best[m] / best["inference"]:.1f} |')
    return runner, cams['ablationcam']


def versus_pytorch_grad_cam(boxam, image, args):
    """Ours against pytorch-grad-cam's AblationCAM on the same boxes and target layers."""
    import numpy as np
    from pytorch_grad_cam import AblationCAM

    from mmyolo_vis.cam.base import maps_of_targets
    from mmyolo_vis.detection.scores import BoxScoreTarget
    ours_t = best_of(lambda: boxam.run(image), args.repeats)
    res = boxam.run(image)  # leaves the image's state (data samples, proposals) in the scores model
    data = boxam.runner.preprocess(boxam.runner.prepare([image]))
    targets = [BoxScoreTarget(p, label) for p, label, _ in boxam.last_targets]
    theirs = AblationCAM(boxam.wrapper, list(boxam.cam.cam.target_layers), batch_size=args.batch_size)
    t0 = time.perf_counter()
    maps = maps_of_targets(theirs, data['inputs'], targets)
    theirs_t = time.perf_counter() - t0
    print(f'\n[dense] AblationCAM on the same {len(targets)} boxes and layers ({len(boxam.layer_names)} neck '
          f'outputs): ours {ours_t:.2f} s, pytorch-grad-cam\'s whole-network AblationCAM {theirs_t:.1f} s, '
          f'ratio {ours_t / theirs_t:.4f} (goal <= 0.1); maps {np.asarray(maps).shape}, ours {res.maps.shape}')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--size', type=int, default=320)
    p.add_argument('--boxes', type=int, default=5)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-masks', type=int, default=500)
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--score-thr', type=float, default=0.3, help='for trained checkpoints')
    p.add_argument('--ratio', type=float, default=1.0, help='AblationCAM: share of channels to ablate')
    p.add_argument('--kinds', nargs='+', default=list(DEFAULTS), choices=list(DEFAULTS))
    p.add_argument('--skip-versus', action='store_true', help="skip pytorch-grad-cam's AblationCAM (minutes)")
    for kind in DEFAULTS:
        p.add_argument(f'--{kind}-config')
        p.add_argument(f'--{kind}-checkpoint')
    args = p.parse_args()
    import torch
    print(f'torch threads {torch.get_num_threads()}')
    image = scene()
    for kind in args.kinds:
        _, ablation = kind_rows(kind, args, image)
        if kind == 'dense' and not args.skip_versus:
            versus_pytorch_grad_cam(ablation, image, args)


if __name__ == '__main__':
    main()
