"""What the map hooks cost a training run, at their default interval: the shapes detector trained with
``configs/yolov5/yolov5_n_shapes_vis_hooks.py`` (feature maps of the neck and Grad-CAM box maps of 4 validation
pictures after every validation, TensorBoard and local files) against the same training without the two hooks
(same backends), side by side in one process.

    .venv/bin/python benchmarks/vis_hooks_overhead.py [--num-train 64 --epochs 3 --repeats 2]

A generated shapes set (``--num-train`` pictures, 8 for validation) and the config's own schedule: batch 8,
validation every 3 epochs (so ``--epochs 3`` validates once and the hooks draw once). Runs alternate with, without,
without, with, ... from one seed, so that the machine's drift falls on both; only ``runner.train()`` is timed.
Prints each run and the ratio of the totals. On so short a run (the hooks draw once per 24 iterations) that
ratio is far above the overhead of a real run, and the machine's noise is of the same size; so it also prints
the hooks' own time (timed around their drawing, in the runs with them) and the time of a training iteration
(the runs without them, validation excluded), and from those the overhead at the shipped schedule: one drawing
per validation, every 3 epochs of 1600 / 8 iterations (goal <= 5 %), and with ``event='train_iter'`` at its
default interval of 500 iterations.

    .venv/bin/python benchmarks/vis_hooks_overhead.py --concurrent --num-train 1600 --epochs 3

``--concurrent`` runs the two trainings at the same time, one process each (one torch thread each), on one
generated set: whatever else the machine does falls on both alike, which a run of real length (here one whole
validation cycle of the shipped schedule: 3 epochs of 200 iterations, the hooks drawing once) needs on a shared
machine where two sequential runs of half an hour each see different loads. Prints both times and their ratio.
"""
import json
import subprocess
import argparse
import copy
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=str(ROOT / 'configs/yolov5/yolov5_n_shapes_vis_hooks.py'))
    p.add_argument('--num-train', type=int, default=64)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--repeats', type=int, default=2, help='runs of each kind (default 2)')
    p.add_argument('--concurrent', action='store_true',
                   help='run one training with the hooks and one without at the same time, one process each')
    p.add_argument('--only', choices=['with', 'without'], help=argparse.SUPPRESS)  # a --concurrent child
    p.add_argument('--data-root', help=argparse.SUPPRESS)  # the set a --concurrent parent generated
    args = p.parse_args()
    if args.concurrent:
        return concurrent(args)

    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmyolo_vis.hooks.base import MapVisHook

    tmp = tempfile.TemporaryDirectory()
    root = Path(args.data_root) if args.data_root else generate_set(Path(tmp.name), args.num_train)
    base = Config.fromfile(args.config)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        base[key].dataset.data_root = f'{root}/'
    base.val_evaluator.ann_file = base.test_evaluator.ann_file = f'{root}/annotations/val.json'
    base.train_cfg.max_epochs = args.epochs
    base.randomness = dict(seed=0)
    base.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10_000, save_last=False)
    base.log_level = 'WARNING'

    from mmengine.runner.loops import ValLoop
    drawing, validating = [0.0], [0.0]
    draw_all, val_run = MapVisHook.draw_all, ValLoop.run

    def timed_val_run(self):
        t0 = time.perf_counter()
        try:
            return val_run(self)
        finally:
            validating[0] += time.perf_counter() - t0
    ValLoop.run = timed_val_run

    def timed_draw_all(self, runner, step):
        t0 = time.perf_counter()
        try:
            return draw_all(self, runner, step)
        finally:
            drawing[0] += time.perf_counter() - t0
    MapVisHook.draw_all = timed_draw_all

    names = itertools.count()
    times = {True: [], False: []}
    training = []  # runs without the hooks: training time less validation
    order = [k % 4 in (0, 3) for k in range(2 * args.repeats)]  # with, without, without, with, ...
    if args.only:
        order = [args.only == 'with']
    for with_hooks in order:
        cfg = copy.deepcopy(base)
        if not with_hooks:
            cfg.custom_hooks = [h for h in cfg.custom_hooks if not str(h['type']).endswith('VisHook')]
        cfg.visualizer.name = f'visualizer_{next(names)}'  # one visualizer per runner
        cfg.work_dir = os.path.join(tmp.name, f'run{len(times[True]) + len(times[False])}')
        runner = Runner.from_cfg(cfg)
        validating[0] = 0.0
        t0 = time.perf_counter()
        runner.train()
        times[with_hooks].append(time.perf_counter() - t0)
        if not with_hooks:
            training.append(times[False][-1] - validating[0])
        print(f'{"with" if with_hooks else "without"} hooks: {times[with_hooks][-1]:.1f} s', flush=True)
    if args.only:
        print('RESULT ' + json.dumps(dict(seconds=times[order[0]][0], drawing=drawing[0], validating=validating[0])))
        return
    with_total, without_total = sum(times[True]), sum(times[False])
    batch = base.train_dataloader.batch_size
    iters = args.epochs * -(-args.num_train // batch)
    validations = args.epochs // base.train_cfg.val_interval
    per_iter = sum(training) / (args.repeats * iters)
    per_drawing = drawing[0] / (args.repeats * validations)
    shipped = 3 * -(-1600 // batch)
    print(f'\n{args.num_train} training pictures, {args.epochs} epochs ({iters} iterations, {validations} '
          f'validation), {args.repeats} runs of each')
    print(f'without hooks {without_total / args.repeats:.1f} s, with hooks {with_total / args.repeats:.1f} s: '
          f'ratio {with_total / without_total:.3f}')
    print(f"hooks' drawing {per_drawing:.2f} s per validation; a training iteration {per_iter:.2f} s")
    print(f'overhead at the shipped schedule (a drawing per {shipped} iterations): '
          f'{per_drawing / (shipped * per_iter):.2%} (goal <= 5 %); '
          f"event='train_iter' at its default interval (500): {per_drawing / (500 * per_iter):.2%}")


def generate_set(folder: Path, num_train: int) -> Path:
    from mmyolo_vis.datasets.shapes import generate_split
    root = folder / 'shapes'
    generate_split(root, 'train', num_train, 1, (256, 512))
    generate_split(root, 'val', 8, 2, (256, 512))
    return root


def concurrent(args):
    with tempfile.TemporaryDirectory() as tmp:
        root = generate_set(Path(tmp), args.num_train)
        env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
        procs = {kind: subprocess.Popen(
            [sys.executable, __file__, '--config', args.config, '--num-train', str(args.num_train), '--epochs',
             str(args.epochs), '--only', kind, '--data-root', str(root)], env=env, stdout=subprocess.PIPE, text=True)
            for kind in ('with', 'without')}
        results = {}
        for kind, proc in procs.items():
            out, _ = proc.communicate()
            line = next((x for x in out.splitlines() if x.startswith('RESULT ')), None)
            if proc.returncode or line is None:
                sys.exit(f'the run {kind} the hooks failed (exit {proc.returncode})')
            results[kind] = json.loads(line[len('RESULT '):])
    iters = args.epochs * -(-args.num_train // 8)
    w, wo = results['with'], results['without']
    print(f'{args.num_train} training pictures, {args.epochs} epochs ({iters} iterations), both runs at once')
    print(f"without hooks {wo['seconds']:.1f} s, with hooks {w['seconds']:.1f} s (of which drawing "
          f"{w['drawing']:.1f} s): ratio {w['seconds'] / wo['seconds']:.3f} (goal <= 1.05)")


if __name__ == '__main__':
    main()
