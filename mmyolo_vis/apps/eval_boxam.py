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
Printed as a table, written as JSON.
"""
import argparse
import numpy as np

from ..core.progress import progress
from .cli import ArgumentParser, run_main, setup_logging


def parse_args(argv=None):
    from .cli import add_cfg_options
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--methods', nargs='+', default=['gradcam'])
    p.add_argument('--target-layers', nargs='+', action='append', default=None,
                   help='a layer set (repeat the option for several sets; default: the neck outputs)')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--min-size', type=float, default=32)
    p.add_argument('--tolerance', type=float, default=15)
    p.add_argument('--num-images', type=int, default=-1, help='first N images of the split (default all)')
    p.add_argument('--num-masks', type=int, default=1000)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out-file', default='output/eval_boxam.json')
    add_cfg_options(p)
    from ..core.distributed import add_launcher_arg
    add_launcher_arg(p)
    return p.parse_args(argv)


def cell(value, width: int) -> str:
    return f'{"-":>{width}}' if value is None else f'{value:{width}.3f}'


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
    from ..detection.eval import score_boxes, summarise
    from ..models.detector import ModelRunner
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        raise UserError(f'--methods {" ".join(unknown)}: use some of {", ".join(METHODS)}')
    check_evaluation_args(args.num_images, args.out_file)
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
    layer_sets = args.target_layers or [None]
    table = []
    for method in args.methods:
        for layers in layer_sets:
            boxam = BoxAM(runner, method, layers, args.score_thr, topk=-1, num_masks=args.num_masks)
            per_image = []  # this rank's images (every world-size-th): one list of rows each
            mine = shard(list(range(n)))
            for i in progress(mine, len(mine), f'{method}', enabled=None if is_main() else False):
                info = dataset.get_data_info(i)
                gt = [x for x in info['instances'] if not x.get('ignore_flag', 0)]
                res = boxam.run(read_image(info['img_path']))
                per_image.append(score_boxes(res.maps, res.boxes, res.labels,
                                             np.array([x['bbox'] for x in gt]).reshape(-1, 4),
                                             np.array([x['bbox_label'] for x in gt]), args.min_size, 0.5,
                                             args.tolerance))
            gathered = gather_rows(per_image)  # rank 0: every image's rows, in image order
            if not is_main():
                continue
            rows = [row for image_rows in gathered for row in image_rows]
            table.append(summarise(method, '(input masks)' if method == 'drise' else ' '.join(boxam.layer_names),
                                   rows))
    if not is_main():
        return 0
    print(f'{"method":14}{"layers":58}{"boxes":>7}{"pointing":>10}{"energy":>9}{"pointing(class)":>17}'
          f'{"alone":>8}{"shared":>8}')
    for r in table:
        print(f'{r["method"]:14}{r["layers"]:58}{r["boxes"]:7d}{cell(r["pointing_game"], 10)}'
              f'{cell(r["energy_in_box"], 9)}{cell(r["pointing_game_class"], 17)}{cell(r["pointing_game_alone"], 8)}'
              f'{cell(r["pointing_game_shared"], 8)}')
    write_json(args.out_file, dict(images=n, min_size=args.min_size, tolerance=args.tolerance,
                                   score_thr=args.score_thr, results=table), indent=1)
    print(f'wrote {args.out_file}')
    return 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
