"""Sliced inference: batched patches against MMYOLO's one-patch-at-a-time loop, and peak memory on a
20000x20000 tiled TIFF.

    .venv/bin/python benchmarks/large_image_bench.py [--skip-memory]

1. Same image (demo/large_scene.jpg), same model, same patch windows: this project's SlicedPredictor with
   --batch-size 8, and a loop of ``mmdet.apis.inference_detector`` over one patch at a time (what MMYOLO's
   large_image_demo.py does), alternated twice. Prints patches per second and the ratio (goal >= 1.3).
2. Writes a 20000x20000 RGB tiled BigTIFF (about 1.2 GB, in a temporary folder), runs
   demo/large_image_demo.py on it in a child process and prints the child's peak resident memory
   (goal <= 1.5 GB).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONFIG = str(ROOT / 'configs/yolov5/yolov5_n_shapes.py')
CHECKPOINT = str(ROOT / 'checkpoints/yolov5_n_shapes.pth')


def speed(patch_size: int, batch_size: int, rounds: int):
    from mmdet.apis import inference_detector

    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.models.detector import ModelRunner
    from mmyolo_vis.large.sliced import SlicedPredictor
    runner = ModelRunner(CONFIG, CHECKPOINT, 'cpu')
    image = read_image(str(ROOT / 'demo/large_scene.jpg'))
    h, w = image.shape[:2]
    batched = SlicedPredictor(runner, patch_size, 0.25, batch_size, 0.3)
    windows = batched.windows(h, w)
    read = lambda x1, y1, x2, y2: image[y1:y2, x1:x2]  # noqa: E731

    def ours():
        batched.predict_patches(read, h, w, windows=windows)

    def mmyolo_way():
        for x1, y1, x2, y2 in windows:
            inference_detector(runner.model, np.ascontiguousarray(image[y1:y2, x1:x2]))

    ours(), mmyolo_way()  # warm-up (first calls build caches)
    t_ours = t_ref = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        ours()
        t1 = time.perf_counter()
        mmyolo_way()
        t2 = time.perf_counter()
        t_ours += t1 - t0
        t_ref += t2 - t1
    n = len(windows) * rounds
    print(f'{w}x{h} image, {len(windows)} patches of {patch_size} px, {rounds} rounds')
    print(f'one patch at a time (inference_detector): {n / t_ref:6.1f} patches/s')
    print(f'batched, --batch-size {batch_size}:            {n / t_ours:6.1f} patches/s')
    print(f'ratio batched / one at a time: {t_ref / t_ours:.2f}  (goal >= 1.3)')


def write_big_tiff(path: str, side: int = 20000, tile: int = 512):
    import tifffile

    from mmyolo_vis.core.images import read_image
    scene = read_image(str(ROOT / 'demo/large_scene.jpg'))[..., ::-1]
    tiles_y, tiles_x = -(-side // tile), -(-side // tile)

    def tiles():
        for ty in range(tiles_y):
            for tx in range(tiles_x):
                y, x = (ty * tile) % (scene.shape[0] - tile), (tx * tile) % (scene.shape[1] - tile)
                yield np.ascontiguousarray(scene[y:y + tile, x:x + tile])

    tifffile.imwrite(path, tiles(), shape=(side, side, 3), dtype=np.uint8, tile=(tile, tile), bigtiff=True,
                     photometric='rgb')


def memory(patch_size: int, batch_size: int):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'big.tif')
        t0 = time.perf_counter()
        write_big_tiff(path)
        print(f'wrote a 20000x20000 RGB tiled BigTIFF of {os.path.getsize(path) / 2**30:.2f} GiB '
              f'in {time.perf_counter() - t0:.0f} s')
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / 'demo/large_image_demo.py'), path, CONFIG, CHECKPOINT,
                        '--device', 'cpu', '--patch-size', str(patch_size), '--batch-size', str(batch_size),
                        '--out-dir', os.path.join(tmp, 'out')], check=True, stderr=subprocess.DEVNULL)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f'sliced inference over it (--patch-size {patch_size} --batch-size {batch_size}): '
              f'{time.perf_counter() - t0:.0f} s, peak resident memory {peak_kib / 2**20:.2f} GiB  (goal <= 1.5 GB)')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--patch-size', type=int, default=320)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--skip-memory', action='store_true')
    p.add_argument('--memory-patch-size', type=int, default=640)
    args = p.parse_args()
    speed(args.patch_size, args.batch_size, args.rounds)
    if not args.skip_memory:
        memory(args.memory_patch_size, args.batch_size)


if __name__ == '__main__':
    main()
