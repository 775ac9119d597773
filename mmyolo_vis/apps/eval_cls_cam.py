"""Do a classifier's class maps land on the object? Pointing game over a generated split with boxes.

    python tools/analysis_tools/eval_cls_cam.py configs/classifiers/resnet18_tiny_shapes.py \
        checkpoints/resnet18_tiny_shapes.pth --data-root data/shapes_cls --methods gradcam layercam

Each picture's map is made for its object's class. Pointing game: the map's maximum inside the object's box
grown by --tolerance px (15 by default; "strict": 0 px); energy: the share of the map's mass in the box.

--metrics deletion insertion road (any subset of pointing energy deletion insertion road; default pointing
energy): whether the classifier depends on the pixels each map ranks first, the whole input the reference
(deletion and insertion AUC of the class probability, pytorch-grad-cam's ROADCombined), for each method and
for three maps that know nothing of the model (a seeded random map, the object's box, a Gaussian on it).
"""
import argparse

from ..core.progress import progress
from .cli import ArgumentParser, add_faithfulness_args, faithfulness_protocol, run_main, setup_logging


def main(argv=None):
    from ..classification.methods import METHODS
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--data-root', default='data/shapes_cls')
    p.add_argument('--split', default='val')
    p.add_argument('--methods', nargs='+', default=list(METHODS))
    p.add_argument('--tolerance', type=float, default=15.0)
    p.add_argument('--num-images', type=int, default=-1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out-file', help='also write the table as JSON')
    p.add_argument('--metrics', nargs='+', default=['pointing', 'energy'],
                   help='some of: pointing energy deletion insertion road (default: pointing energy)')
    add_faithfulness_args(p)
    args = p.parse_args(argv)
    setup_logging()
    from ..cam.faithfulness import check_metrics
    metrics = check_metrics(args.metrics)
    faith_metrics = [m for m in metrics if m in ('deletion', 'insertion', 'road')]
    protocol = faithfulness_protocol(args) if faith_metrics else None
    from ..classification.cam import ClassifierCAM
    from ..classification.eval import accuracy, check_classes, evaluate, load_split
    from ..classification.methods import method_name
    from ..models.classifier import ClassifierRunner
    from .cli import check_evaluation_args
    methods = [method_name(m) for m in args.methods]
    check_evaluation_args(args.num_images, args.out_file)
    samples = load_split(args.data_root, args.split)
    if args.num_images > 0:
        samples = samples[:args.num_images]
    runner = ClassifierRunner(args.config, args.checkpoint, args.device)
    check_classes(samples, runner.classes)
    from .cli import readable_only
    samples, unreadable = readable_only(samples, lambda sample: sample[0])
    faith = None
    if faith_metrics:
        from ..classification.faithfulness import ClassifierFaithfulness
        faith = ClassifierFaithfulness(runner, protocol, args.perturb_batch_size, args.road_percentiles)
    rows = [evaluate(ClassifierCAM(runner, m), samples, args.tolerance,
                     lambda s, m=m: progress(s, len(s), m), faith, faith_metrics) for m in methods]
    if faith is not None:
        from ..cam.faithfulness import verdict
        from ..classification.eval import evaluate_baselines
        rows += evaluate_baselines(runner, faith, samples, faith_metrics, lambda s: progress(s, len(s), 'baselines'))
        rand = rows[-3]
        for r in rows:
            if r is not rand:
                r['verdict'] = verdict(r.get('deletion_auc'), r.get('insertion_auc'), rand.get('deletion_auc'),
                                       rand.get('insertion_auc'))
    print(f'accuracy {accuracy(runner, samples):.3f} on {len(samples)} images')
    columns = ([('pointing', 'pointing_game', 10), ('strict', 'pointing_game_strict', 8)] if 'pointing' in metrics
               else []) + ([('energy', 'energy_in_box', 8)] if 'energy' in metrics else []) + \
        [(name, key, 11) for name, key in (('deletion', 'deletion_auc'), ('insertion', 'insertion_auc'),
                                           ('road', 'road')) if name in metrics]
    extra = f'{"s/image":>9}  verdict' if faith is not None else ''
    print(f'{"method":20}{"layers":28}{"images":>7}' + ''.join(f'{n:>{w}}' for n, _, w in columns) + extra)
    for r in rows:
        line = f'{r["method"]:20}{r["layers"]:28}{r["images"]:7d}'
        line += ''.join(f'{r[k]:{w}.3f}' if r.get(k) is not None else f'{"-":>{w}}' for _, k, w in columns)
        if faith is not None:
            secs = r.get('seconds_per_image')
            line += (f'{secs:9.3f}' if secs is not None else f'{"-":>9}') + f'  {r.get("verdict", "")}'
        print(line)
    if args.out_file:
        from ..core.writer import write_json
        write_json(args.out_file, rows)
    return 1 if unreadable else 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
