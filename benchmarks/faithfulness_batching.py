"""Deletion and insertion curves (issue 22): the batched path against one forward pass per point, side by side.

    .venv/bin/python benchmarks/faithfulness_batching.py [--image demo/demo_scene.jpg] [--boxes 4] [--repeats 2]
    .venv/bin/python benchmarks/faithfulness_batching.py --config mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py \\
        --checkpoint ../shared/data/yolov5_n-v61_coco.pth --image ../shared/data/dog.jpg

Both paths build the same perturbed inputs (the default protocol: 100 steps of 1 % of each box's area, scored
every 10 steps, deletion and insertion: 20 pictures a box and 2 shared) and run the backbone, neck and head
on them; the batched one puts up to --batch-size pictures (the points of one box and of the next boxes)
through the network at once, the other one picture per forward pass, as ODAM's evaluation does. The rounds
are interleaved (the machine is shared and noisy); the best time of each is kept, and the curves of the two
paths are compared.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'))
    p.add_argument('--checkpoint', default=str(ROOT / 'checkpoints/yolov5_n_shapes.pth'))
    p.add_argument('--image', default=str(ROOT / 'demo/demo_scene.jpg'))
    p.add_argument('--method', default='hirescam')
    p.add_argument('--boxes', type=int, default=4)
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--repeats', type=int, default=2)
    args = p.parse_args()
    import torch

    from mmyolo_vis.cam.faithfulness import Protocol
    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.detection.faithfulness import DetectorFaithfulness
    from mmyolo_vis.models.detector import ModelRunner
    torch.set_grad_enabled(True)
    runner = ModelRunner(args.config, args.checkpoint, 'cpu')
    boxam = BoxAM(runner, args.method, None, 0.3, topk=args.boxes)
    res = boxam.run(read_image(args.image))
    k = len(res.boxes)
    if not k:
        sys.exit('no box above 0.3 on the image')
    paths = {'batched': DetectorFaithfulness(boxam.wrapper, runner.model.data_preprocessor, Protocol(), args.batch_size),
             'one per point': DetectorFaithfulness(boxam.wrapper, runner.model.data_preprocessor, Protocol(), 1)}
    best = {name: float('inf') for name in paths}
    rows = {}
    for _ in range(args.repeats):
        for name, faith in paths.items():
            t0 = time.perf_counter()
            rows[name] = faith.measure(res, res.maps, res.boxes, range(k), ['deletion', 'insertion'])
            best[name] = min(best[name], time.perf_counter() - t0)
    diff = max(float(np.max(np.abs(np.subtract(a[m], b[m])))) for a, b in zip(rows['batched'], rows['one per point'])
               for m in ('deletion', 'insertion'))
    h, w = res.inputs.shape[2:]
    print(f'{Path(args.image).name}: {k} boxes, {w}x{h} input, {args.method} maps, {2 + 20 * k} pictures per run, '
          f'batch {args.batch_size}')
    for name, t in best.items():
        print(f'{name:14} {t:8.2f} s  ({t / k:.2f} s per box)')
    print(f'ratio batched / one per point: {best["batched"] / best["one per point"]:.2f}; '
          f'largest difference between the two paths\' curves: {diff:.1e}')


if __name__ == '__main__':
    main()
