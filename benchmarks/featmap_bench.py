"""Feature-map demo cost against bare MMDetection inference, side by side in one run.

    .venv/bin/python benchmarks/featmap_bench.py [--config C --checkpoint P --images DIR]

The demo's path (model built once, 3 layers, select_max, detections drawn, picture written) and
``mmdet.apis.inference_detector`` run on the same 20 images with the same model, interleaved image by
image so that the machine's noise falls on both. Prints both totals and their ratio (goal <= 1.3).
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'))
    p.add_argument('--checkpoint', default=str(ROOT / 'checkpoints/yolov5_n_shapes.pth'))
    p.add_argument('--images', help='folder of images (default: 20 generated 640x480 scenes)')
    p.add_argument('--num-images', type=int, default=20)
    p.add_argument('--layers', nargs='+', default=['backbone.stage2', 'backbone.stage3', 'backbone.stage4'])
    p.add_argument('--repeats', type=int, default=2, help='passes over the images (default 2)')
    args = p.parse_args()

    import torch
    from mmdet.apis import inference_detector

    from mmyolo_vis.featmaps.demo import FeatmapDemo
    from mmyolo_vis.core.inputs import collect_sources
    from mmyolo_vis.core.outputs import plan_outputs
    from mmyolo_vis.models.detector import ModelRunner
    from mmyolo_vis.datasets.shapes import generate_split
    from mmyolo_vis.core.writer import write_rgb

    tmp = tempfile.TemporaryDirectory()
    folder = args.images
    if folder is None:
        generate_split(Path(tmp.name) / 'scenes', 'val', args.num_images, seed=123, size_range=(640, 640))
        folder = str(Path(tmp.name) / 'scenes/images/val')
    sources, _ = collect_sources([folder])
    sources = sources[:args.num_images]
    runner = ModelRunner(args.config, args.checkpoint, 'cpu')
    demo = FeatmapDemo(runner, args.layers, 'select_max', score_thr=0.3)
    out_dir = os.path.join(tmp.name, 'out')
    pictures = {s.rel: p.picture for s, p in zip(sources, plan_outputs([s.rel for s in sources], out_dir))}

    def demo_one(src):
        picture, _, _ = demo.run(src.load())
        write_rgb(pictures[src.rel], picture)

    def bare_one(src):
        inference_detector(runner.model, src.location)

    for src in sources[:2]:  # warm-up
        demo_one(src)
        bare_one(src)
    t_demo = t_bare = 0.0
    with torch.no_grad():
        for _ in range(args.repeats):
            for src in sources:
                t0 = time.perf_counter()
                demo_one(src)
                t1 = time.perf_counter()
                bare_one(src)
                t2 = time.perf_counter()
                t_demo += t1 - t0
                t_bare += t2 - t1
    n = len(sources) * args.repeats
    print(f'images: {len(sources)} x {args.repeats} passes, layers: {" ".join(args.layers)}, torch threads: '
          f'{torch.get_num_threads()}')
    print(f'bare inference_detector: {1000 * t_bare / n:7.1f} ms/image')
    print(f'feature-map demo path:   {1000 * t_demo / n:7.1f} ms/image')
    print(f'ratio demo / bare: {t_demo / t_bare:.2f}  (goal <= 1.3)')


if __name__ == '__main__':
    main()
