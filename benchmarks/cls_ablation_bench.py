"""AblationCAM on the demo classifiers: the rerun from the target layer on (one sweep for every class)
against pytorch-grad-cam's whole-network reruns (one sweep per class), side by side in one run, and the
largest difference between their maps.

    .venv/bin/python benchmarks/cls_ablation_bench.py [--images 10] [--rounds 3]

Each picture: a 96x96 two-shape scene (the generator's code), maps for all 4 classes at the default layer
(CNN: backbone.layer4.1.bn2, 128 channels; ViT: backbone.layers[-1].ln1, 96 channels), batch 32.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def scenes(n):
    from mmyolo_vis.datasets.shapes import CLASSES, render_classification_image
    rng = np.random.default_rng(5)
    return [render_classification_image(rng, 96, [int(c) for c in rng.choice(len(CLASSES), 2, replace=False)],
                                        0.3, 0.38, clutter=2)[0] for _ in range(n)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--images', type=int, default=10)
    p.add_argument('--rounds', type=int, default=3)
    args = p.parse_args(argv)
    import torch
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.models.classifier import ClassifierRunner
    images = scenes(args.images)
    print(f'torch threads: {torch.get_num_threads()}; {args.images} pictures x 4 classes, best of {args.rounds}')
    print('| model | layer | from the layer on | whole network | ratio | max map difference |')
    print('| --- | --- | --- | --- | --- | --- |')
    for name in ('resnet18', 'vit'):
        runner = ClassifierRunner(str(ROOT / f'configs/classifiers/{name}_tiny_shapes.py'),
                                  str(ROOT / f'checkpoints/{name}_tiny_shapes.pth'), 'cpu')
        fast, whole = ClassifierCAM(runner, 'ablationcam'), ClassifierCAM(runner, 'ablationcam')
        whole.cam._expands_after = {id(layer): False for layer in whole.cam.target_layers}
        best = {'fast': float('inf'), 'whole': float('inf')}
        diff = 0.0
        for _ in range(args.rounds):
            for key, cam in (('fast', fast), ('whole', whole)):
                t0 = time.perf_counter()
                out = [cam.run(img, [0, 1, 2, 3]) for img in images]
                best[key] = min(best[key], time.perf_counter() - t0)
                if key == 'fast':
                    maps_fast = out
                else:
                    diff = max(diff, max(float(np.abs(a.cam - b.cam).max())
                                         for fa, wh in zip(maps_fast, out) for a, b in zip(fa, wh)))
        print(f'| {name} | {fast.layer_names[0]} | {best["fast"]:.2f} s | {best["whole"]:.2f} s | '
              f'**{best["fast"] / best["whole"]:.3f}** | {diff:.1e} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
