"""--eigen-smooth on Grad-CAM: this package's projection (C x C Gram matrix, oriented) against
pytorch-grad-cam's get_2d_projection (full SVD), on the same weighted activations, side by side.

    .venv/bin/python benchmarks/eigen_smooth_bench.py [--boxes 5] [--channels 64] [--side 80]

Default: 5 boxes' maps at an 80x80 level of 64 channels (a 640 input's stride-8 neck output of a YOLOv5-n).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--boxes', type=int, default=5)
    p.add_argument('--channels', type=int, default=64)
    p.add_argument('--side', type=int, default=80)
    args = p.parse_args(argv)
    import pytorch_grad_cam
    import torch.nn as nn
    from mmyolo_vis.cam.gradient import GRADIENT_METHODS
    model = nn.Sequential(nn.Conv2d(3, args.channels, 3))
    rng = np.random.default_rng(0)
    act = rng.normal(size=(args.boxes, args.channels, args.side, args.side)).astype(np.float32)
    grads = rng.normal(size=act.shape).astype(np.float32)
    times = {}
    for name, cls in (('ours', GRADIENT_METHODS['gradcam']), ('pytorch-grad-cam', pytorch_grad_cam.GradCAM)):
        cam = cls(model, [model[0]])
        t0 = time.perf_counter()
        cam.get_cam_image(None, model[0], None, act, grads, True)
        times[name] = time.perf_counter() - t0
    print(f'{args.boxes} maps, {args.channels} channels, {args.side}x{args.side}: ours {times["ours"]:.3f} s, '
          f'pytorch-grad-cam {times["pytorch-grad-cam"]:.2f} s, ratio {times["ours"] / times["pytorch-grad-cam"]:.4f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
