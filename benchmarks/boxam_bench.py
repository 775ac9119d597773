"""Box activation maps on scenes with many boxes: what all the boxes of an image cost against one box,
against the whole-network AblationCAM, and every method against Grad-CAM, side by side in one run.

    .venv/bin/python benchmarks/boxam_bench.py [--num-masks 500] [--skip-whole]

Scenes:
- ``shapes``: the shipped shapes model with its test pipeline at 640 (640 network input) on a generated
  640x480 scene with 24 shapes (the generator's own drawing code, seed 7): 15 or more boxes.
- ``dog``: the COCO YOLOv5-n of ../shared/data on dog.jpg (5 boxes above 0.3; skipped without that folder).
  With ``--dense-thr`` (default 0.05) a second set of dog.jpg's boxes, 15 or more, for the method table.

Goals (issue 12): AblationCAM, all boxes <= 1.3x one box; on dog.jpg, default layers, <= 0.1x pytorch-grad-cam's
whole-network AblationCAM on the same boxes and layers, and the demo process's peak resident memory <= 1.5 GB;
eigencam and eigengradcam <= 2x gradcam on the same boxes (>= 15 boxes, 640 input). D-RISE's time is listed.
"""
import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared' / 'data'
sys.path.insert(0, str(ROOT))

from timing import best_of  # noqa: E402  (benchmarks/, the script's own folder)
COCO_CONFIG = 'mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py'



def side_by_side(fns: dict, repeats: int) -> dict:
    """Best time of each function, runs interleaved round by round (the machine is shared and noisy)."""
    best = {k: float('inf') for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            best[k] = min(best[k], best_of(fn))
    return best


def shapes_scene():
    import numpy as np

    from mmyolo_vis.models.detector import ModelRunner
    from mmyolo_vis.datasets.shapes import render_scene
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='YOLOv5KeepRatioResize', scale=(640, 640)),
        dict(type='LetterResize', scale=(640, 640), allow_scale_up=False, pad_val=dict(img=114)),
        dict(type='mmdet.PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                                    'pad_param')),
    ]
    runner = ModelRunner(str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'), str(ROOT / 'checkpoints/yolov5_n_shapes.pth'),
                         'cpu', {'test_dataloader.dataset.pipeline': pipeline})
    image, _ = render_scene(np.random.default_rng(7), 640, 480, 24, 24, 90, clutter=4, max_overlap=0.1)
    return runner, image


def with_weight_timer(boxam):
    """Wrap the CAM's get_cam_weights (the ablation itself) with a timer; returns the list it adds to."""
    cam, spent = boxam.cam.cam, []
    inner = cam.get_cam_weights

    def timed_weights(*args):
        t0 = time.perf_counter()
        out = inner(*args)
        spent.append(time.perf_counter() - t0)
        return out
    cam.get_cam_weights = timed_weights
    return spent


def ablation_rows(name, runner, image, args, whole: bool):
    from mmyolo_vis.detection.boxam import BoxAM
    one = BoxAM(runner, 'ablationcam', topk=1, batch_size=args.batch_size)
    every = BoxAM(runner, 'ablationcam', topk=-1, batch_size=args.batch_size)
    k = len(every.run(image).boxes)
    one.run(image)
    best = {}
    for _ in range(args.repeats + 1):  # interleaved; best of each
        for key, boxam in (('one', one), ('all', every)):
            spent = with_weight_timer(boxam)
            total = best_of(lambda: boxam.run(image))
            t_total, t_weights = best.get(key, (float('inf'), float('inf')))
            best[key] = (min(t_total, total), min(t_weights, sum(spent)))
            boxam.cam.cam.get_cam_weights = type(boxam.cam.cam).get_cam_weights.__get__(boxam.cam.cam)
    (t1, w1), (tk, wk) = best['one'], best['all']
    print(f'[{name}] AblationCAM, neck outputs: one box {t1:.3f} s, all {k} boxes {tk:.3f} s, ratio {tk / t1:.2f} '
          f'(goal <= 1.3); the ablation alone (get_cam_weights): {1000 * w1:.0f} ms / {1000 * wk:.0f} ms, '
          f'ratio {wk / w1:.2f}')
    if whole:
        slow = BoxAM(runner, 'ablationcam', topk=-1, batch_size=args.batch_size, fast_ablation=False)
        t0 = time.perf_counter()
        slow_maps = slow.run(image).maps
        t_slow = time.perf_counter() - t0
        t0 = time.perf_counter()
        maps = every.run(image).maps
        t_fast = time.perf_counter() - t0
        print(f'[{name}] same {k} boxes, whole network (pytorch-grad-cam AblationCAM): {t_slow:.1f} s, ours '
              f'{t_fast:.2f} s, ratio {t_fast / t_slow:.4f} (goal <= 0.1); max map difference '
              f'{abs(maps - slow_maps).max():.2g}')


def method_rows(name, runner, image, args, score_thr):
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.detection.cams import METHODS
    cams = {m: BoxAM(runner, m, topk=-1, score_thr=score_thr, batch_size=args.batch_size,
                     num_masks=args.num_masks) for m in METHODS}
    k = len(cams['gradcam'].run(image).boxes)
    t = side_by_side({m: (lambda c=c: c.run(image)) for m, c in cams.items() if m != 'drise'}, args.repeats)
    t['drise'] = best_of(lambda: cams['drise'].run(image))
    print(f'[{name}] every method, all {k} boxes (score > {score_thr}), time per image and ratio to gradcam:')
    for m in METHODS:
        extra = f' ({args.num_masks} masks)' if m == 'drise' else ''
        print(f'  {m + extra:20} {t[m]:7.2f} s  {t[m] / t["gradcam"]:6.2f}x')


def demo_peak_memory(extra_args):
    """Wall time and peak resident memory of the box-map demo in a child process."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, str(ROOT / 'demo/boxam_vis_demo.py'), str(SHARED / 'dog.jpg'), COCO_CONFIG,
               str(SHARED / 'yolov5_n-v61_coco.pth'), '--device', 'cpu', '--out-dir', out, *extra_args]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kib * 1024 / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-masks', type=int, default=1000)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--dense-thr', type=float, default=0.05)
    p.add_argument('--skip-whole', action='store_true', help='skip the whole-network AblationCAM (minutes)')
    p.add_argument('--skip-methods', action='store_true', help='skip the every-method table (minutes)')
    args = p.parse_args()

    import torch
    print(f'torch threads {torch.get_num_threads()}')
    if (SHARED / 'dog.jpg').is_file():  # first, so that the child's peak memory is the demo's alone
        wall, peak = demo_peak_memory(['--method', 'ablationcam', '--topk', '-1'])
        print(f'[dog] demo process, ablationcam, all boxes, default layers: {wall:.1f} s, '
              f'peak resident memory {peak:.2f} GB (goal <= 1.5 GB)')
    runner, image = shapes_scene()
    ablation_rows('shapes 640', runner, image, args, whole=False)
    if not args.skip_methods:
        method_rows('shapes 640', runner, image, args, 0.3)
    if (SHARED / 'dog.jpg').is_file():
        from mmyolo_vis.core.images import read_image
        from mmyolo_vis.models.detector import ModelRunner
        coco = ModelRunner(COCO_CONFIG, str(SHARED / 'yolov5_n-v61_coco.pth'), 'cpu')
        dog = read_image(str(SHARED / 'dog.jpg'))
        ablation_rows('dog', coco, dog, args, whole=not args.skip_whole)
        if not args.skip_methods:
            method_rows('dog', coco, dog, args, args.dense_thr)
    else:
        print(f'[dog] skipped: {SHARED} not found')


if __name__ == '__main__':
    main()
