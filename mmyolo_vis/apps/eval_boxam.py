"""Measure whether box activation maps land on their objects, over a split with ground truth.

    python tools/analysis_tools/eval_boxam.py configs/yolov5/yolov5_n_shapes.py checkpoints/yolov5_n_shapes.pth \
        --methods gradcam eigencam ablationcam drise --out-file output/eval_boxam.json

For every image of the config's test split, every detection (score > --score-thr) matched to a
ground-truth box of its class (IoU >= 0.5) whose longer side is at least --min-size px gets its own map
(the target is that detection's score). Per method and layer set: pointing-game hit rate (the map's
maximum inside the ground-truth box, --tolerance px) and mean energy-in-box (the share of the map's mass
inside the box); for reference, the class-level pointing game of Zhang et al. (the maximum inside any
ground-truth box of the detection's class), and the pointing game split into boxes that are the only
object of their class in the image ("alone") and boxes that share their class with another object
("shared": only there can a map that shows the class be told from one that shows the box).

--metrics deletion insertion road (any subset of pointing energy deletion insertion road; default pointing
energy) also measures whether the detector depends on the pixels each map ranks first, with the matched
ground-truth box as the reference (the protocol of the ODAM authors' evaluation, README): deletion and
insertion AUC (100 steps of 1 % of the box's area, scored every 10 steps) and pytorch-grad-cam's ROADCombined,
and the same for three maps that know nothing of the model (a seeded random map, the box itself, a Gaussian
on the box); a method is "informative" only where it beats the random map.
Printed as a table, written as JSON.
"""
import argparse
import time

import numpy as np

from ..core.progress import progress
from .cli import ArgumentParser, add_faithfulness_args, run_main, setup_logging


def parse_args(argv=None):
    from .cli import add_cfg_options
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--methods', nargs='+', default=['gradcam'])
    p.add_argument('--target-layers', nargs='+', action='append', default=None,
                   help='a layer set (repeat the option for several sets; default: the neck outputs; on a '
                        'DETR the finest map entering its encoder; "encoder" there is its encoder\'s output tokens '
                        'as one grid per level)')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--min-size', type=float, default=32)
    p.add_argument('--tolerance', type=float, default=15)
    p.add_argument('--num-images', type=int, default=-1, help='first N images of the split (default all)')
    p.add_argument('--num-masks', type=int, default=1000)
    p.add_argument('--metrics', nargs='+', default=['pointing', 'energy'],
                   help='some of: pointing energy deletion insertion road (default: pointing energy)')
    add_faithfulness_args(p)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out-file', default='output/eval_boxam.json')
    add_cfg_options(p)
    from ..core.distributed import add_launcher_arg
    add_launcher_arg(p)
    return p.parse_args(argv)


def cell(value, width: int) -> str:
    return f'{"-":>{width}}' if value is None else f'{value:{width}.3f}'


def measure_rows(faith, res, rows, metrics, seconds_per_box: float, baselines: dict | None):
    """Deletion / insertion / ROAD of the matched boxes' maps into their rows (reference: the ground-truth
    box), and, with ``baselines`` (kind -> list of per-image rows), of the baseline maps on the same boxes."""
    which = [r['det'] for r in rows]
    refs = np.array([r['gt_box'] for r in rows], np.float32).reshape(-1, 4)
    for r, v in zip(rows, faith.measure(res, res.maps[which], refs, which, metrics) if rows else []):
        r.update(v, seconds_per_box=seconds_per_box)
    if baselines is not None:
        measured = faith.baselines(res, refs, which, metrics) if rows else {k: [] for k in baselines}
        for kind, values in measured.items():
            baselines[kind].append([dict(alone=r['alone'], size=r['size'], det=r['det'], gt_box=r['gt_box'], **v)
                                    for r, v in zip(rows, values)])


def add_verdicts(table: list[dict]):
    """Each map's verdict against the random map measured on the same boxes."""
    from ..cam.faithfulness import verdict
    random_row = next((r for r in table if r['method'] == 'random (baseline)'), None)
    if random_row is None:
        return
    for r in table:
        if r is not random_row:
            r['verdict'] = verdict(r.get('deletion_auc'), r.get('insertion_auc'), random_row.get('deletion_auc'),
                                   random_row.get('insertion_auc'))


def print_table(table: list[dict], metrics):
    columns = [('boxes', 'boxes', 7)]
    if 'pointing' in metrics:
        columns += [('pointing', 'pointing_game', 10)]
    if 'energy' in metrics:
        columns += [('energy', 'energy_in_box', 9)]
    if 'pointing' in metrics:
        columns += [('pointing(class)', 'pointing_game_class', 17), ('alone', 'pointing_game_alone', 8),
                    ('shared', 'pointing_game_shared', 8)]
    columns += [(name, key, 11) for name, key, m in [('deletion', 'deletion_auc', 'deletion'),
                                                     ('insertion', 'insertion_auc', 'insertion'),
                                                     ('road', 'road', 'road')] if m in metrics]
    timed = any('seconds_per_box' in r for r in table)
    width = max([20] + [len(r['method']) + 2 for r in table])
    print(f'{"method":{width}}{"layers":58}' + ''.join(f'{name:>{w}}' for name, _, w in columns)
          + (f'{"s/box":>9}  verdict' if timed else ''))
    for r in table:
        line = f'{r["method"]:{width}}{r["layers"]:58}'
        for name, key, w in columns:
            line += f'{r[key]:{w}d}' if key == 'boxes' else cell(r.get(key), w)
        if timed:
            line += f'{cell(r.get("seconds_per_box"), 9)}  {r.get("verdict", "")}'
        print(line)


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    from mmengine.registry import DATASETS

    from ..core.errors import UserError, first_line
    from ..core.images import read_image
    from ..core.writer import write_json
    from .cli import check_evaluation_args
    from ..detection.boxam import BoxAM
    from ..detection.cams import METHODS
    from ..cam.faithfulness import BASELINES
    from ..detection.eval import score_boxes, summarise
    from ..models.detector import ModelRunner
    from ..cam.faithfulness import check_metrics
    from ..detection.faithfulness import DetectorFaithfulness
    from .cli import faithfulness_protocol
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        raise UserError(f'--methods {" ".join(unknown)}: use some of {", ".join(METHODS)}')
    check_evaluation_args(args.num_images, args.out_file)
    metrics = check_metrics(args.metrics)
    faith_metrics = [m for m in metrics if m in ('deletion', 'insertion', 'road')]
    protocol = faithfulness_protocol(args)
    from ..core.distributed import gather_rows, init_distributed, is_main, shard
    args.device = init_distributed(args.launcher, args.device)
    runner = ModelRunner(args.config, args.checkpoint, args.device, args.cfg_options)
    ds_cfg = runner.cfg.test_dataloader.dataset
    try:
        dataset = DATASETS.build(dict(type=ds_cfg.type, data_root=ds_cfg.data_root, ann_file=ds_cfg.ann_file,
                                      data_prefix=ds_cfg.data_prefix, metainfo=ds_cfg.get('metainfo'),
                                      test_mode=True, pipeline=[]))
    except Exception as e:  # no annotation file, or one that cannot be read
        raise UserError(f'cannot read the test split of {args.config} ({first_line(e)}); generate it (README: '
                        'make_shapes_dataset.py) or set test_dataloader.dataset.data_root with --cfg-options') from None
    if not len(dataset):
        raise UserError(f'the test split of {args.config} holds no images')
    n = len(dataset) if args.num_images < 0 else min(args.num_images, len(dataset))
    from .cli import readable_only
    indices, unreadable = readable_only(list(range(n)), lambda i: dataset.get_data_info(i)['img_path'])
    layer_sets = args.target_layers or [None]
    table = []
    baselines = None  # the maps that know nothing of the model, measured once on the first run's boxes
    for method in args.methods:
        for layers in layer_sets:
            boxam = BoxAM(runner, method, layers, args.score_thr, topk=-1, num_masks=args.num_masks)
            faith = DetectorFaithfulness(boxam.wrapper, runner.model.data_preprocessor, protocol,
                                         args.perturb_batch_size, road_percentiles=args.road_percentiles) \
                if faith_metrics else None
            with_baselines = faith is not None and baselines is None
            if with_baselines:
                baselines = {kind: [] for kind in BASELINES}
            per_image = []  # this rank's images (every world-size-th): one list of rows each
            mine = shard(indices)
            for i in progress(mine, len(mine), f'{method}', enabled=None if is_main() else False):
                info = dataset.get_data_info(i)
                gt = [x for x in info['instances'] if not x.get('ignore_flag', 0)]
                start = time.perf_counter()
                res = boxam.run(read_image(info['img_path']))
                seconds = time.perf_counter() - start
                rows = score_boxes(res.maps, res.boxes, res.labels, np.array([x['bbox'] for x in gt]).reshape(-1, 4),
                                   np.array([x['bbox_label'] for x in gt]), args.min_size, 0.5, args.tolerance)
                if faith is not None:
                    measure_rows(faith, res, rows, faith_metrics, seconds / max(1, len(res.boxes)),
                                 baselines if with_baselines else None)
                per_image.append(rows)
            boxam.close()
            gathered = gather_rows(per_image)  # rank 0: every image's rows, in image order
            gathered_baselines = {k: gather_rows(v) for k, v in baselines.items()} if with_baselines else {}
            if not is_main():
                continue
            rows = [row for image_rows in gathered for row in image_rows]
            table.append(summarise(method, '(input masks)' if method == 'drise' else ' '.join(boxam.layer_names),
                                   rows, metrics))
            for kind, per in gathered_baselines.items():
                table.append(summarise(f'{kind} (baseline)', '(no model)', [r for rs in per for r in rs], metrics))
    if not is_main():
        return 0
    add_verdicts(table)
    print_table(table, metrics)
    settings = dict(images=len(indices), min_size=args.min_size, tolerance=args.tolerance, score_thr=args.score_thr,
                    metrics=metrics)
    if faith_metrics:
        settings.update(steps=protocol.steps, every=protocol.every, insertion_start=protocol.insertion_start,
                        seed=protocol.seed, road_percentiles=list(args.road_percentiles),
                        fractions=[float(f) for f in protocol.fractions])
    write_json(args.out_file, dict(**settings, results=table), indent=1)
    print(f'wrote {args.out_file}')
    return 1 if unreadable else 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
