"""Two processes x one thread (torchrun, gloo) against one process x two threads, on the same 20 images.

    .venv/bin/python benchmarks/dist_bench.py [--script demo/boxam_vis_demo.py] [--num-images 20]

Both are whole command-line runs (start-up and model build included) of the feature-map demo (default) on 20
generated 640-px scenes with the shipped shapes model, timed side by side, in alternation, best of --rounds.
Prints the ratio (2 processes / 1 process): below 1, the distributed run is faster.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--script', default='demo/featmap_vis_demo.py')
    p.add_argument('--num-images', type=int, default=20)
    p.add_argument('--rounds', type=int, default=2)
    args = p.parse_args()
    from mmyolo_vis.datasets.shapes import generate_split
    tmp = Path(tempfile.mkdtemp())
    generate_split(tmp / 'scenes', 'val', args.num_images, seed=123, size_range=(640, 640))
    images = tmp / 'scenes/images/val'
    common = [str(images), str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'), str(ROOT / 'checkpoints/yolov5_n_shapes.pth'),
              '--device', 'cpu']
    py = sys.executable

    def one_process():
        env = dict(os.environ, OMP_NUM_THREADS='2', PYTHONPATH=str(ROOT))
        subprocess.run([py, str(ROOT / args.script), *common, '--out-dir', str(tmp / 'one')], env=env, check=True,
                       capture_output=True)

    def two_processes():
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(ROOT))
        subprocess.run([py, '-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-addr', '127.0.0.1',
                        '--master-port', str(free_port()), str(ROOT / args.script), *common,
                        '--out-dir', str(tmp / 'two'), '--launcher', 'pytorch'], env=env, check=True,
                       capture_output=True)

    best = {'one process x 2 threads': float('inf'), 'two processes x 1 thread': float('inf')}
    for _ in range(args.rounds):
        for name, fn in (('one process x 2 threads', one_process), ('two processes x 1 thread', two_processes)):
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    for name, t in best.items():
        print(f'{name:26} {t:6.1f} s  ({args.num_images} images, {args.script})')
    print(f'ratio two processes / one process: {best["two processes x 1 thread"] / best["one process x 2 threads"]:.2f}')


if __name__ == '__main__':
    main()
