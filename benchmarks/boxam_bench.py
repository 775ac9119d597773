"""Box activation maps: this project's AblationCAM against a whole-network AblationCAM, and every
method's cost as a multiple of one bare inference, in one run on the same image and model.

    .venv/bin/python benchmarks/boxam_bench.py [--config C --checkpoint P --image I]

The whole-network AblationCAM is pytorch-grad-cam's own class over the full model, as MMYOLO's
boxam_vis_demo.py uses it: every batch of ablated channels reruns backbone, neck and head. Ours reruns
only the head from the cached neck outputs. Both explain the same (best) box over the same layers, with
zero as the ablated value (our ZeroAblationLayer in pytorch-grad-cam's class: the same cost as its own
layer), so the two maps must agree: the script prints their largest difference.
Goal: ratio ours / whole-network <= 0.25.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, repeats=1):
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'))
    p.add_argument('--checkpoint', default=str(ROOT / 'checkpoints/yolov5_n_shapes.pth'))
    p.add_argument('--image', default=str(ROOT / 'demo/demo_scene.jpg'))
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-masks', type=int, default=1000)
    args = p.parse_args()

    import torch

    from mmyolo_vis.boxam import BoxAM
    from mmyolo_vis.cam_methods import METHODS
    from mmyolo_vis.images import read_image
    from mmyolo_vis.runner import ModelRunner
    runner = ModelRunner(args.config, args.checkpoint, 'cpu')
    image = read_image(args.image)
    data = runner.preprocess(runner.prepare([image]))
    runner.predict(data)
    t_infer = timed(lambda: runner.predict(runner.preprocess(runner.prepare([image]))), repeats=5)
    print(f'image {args.image} ({image.shape[1]}x{image.shape[0]}), torch threads {torch.get_num_threads()}')
    print(f'bare inference: {1000 * t_infer:.0f} ms')

    ours = BoxAM(runner, 'ablationcam', topk=1, batch_size=args.batch_size)
    whole = BoxAM(runner, 'ablationcam', topk=1, batch_size=args.batch_size, fast_ablation=False)
    t_whole = timed(lambda: whole.run(image))
    t_ours = timed(lambda: ours.run(image))
    a, b = ours.run(image).maps, whole.run(image).maps
    print(f'AblationCAM, whole network (pytorch-grad-cam, as MMYOLO): {t_whole:7.2f} s')
    print(f'AblationCAM, head only from cached neck outputs (ours):   {t_ours:7.2f} s')
    print(f'ratio ours / whole network: {t_ours / t_whole:.3f}  (goal <= 0.25); '
          f'max difference of the two maps: {abs(a - b).max():.3g}')
    print('one box, every method, as a multiple of one bare inference:')
    for method in METHODS:
        boxam = BoxAM(runner, method, topk=1, batch_size=args.batch_size, num_masks=args.num_masks)
        t = timed(lambda: boxam.run(image))
        print(f'  {method:13} {t:7.2f} s  {t / t_infer:7.1f}x')


if __name__ == '__main__':
    main()
