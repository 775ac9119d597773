"""Plot the learning rate (or momentum, weight decay) schedule a config really produces, one curve per
parameter group, and write the values as CSV beside the picture.

    python tools/analysis_tools/vis_scheduler.py mmyolo::yolov5/yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py \
        --dataset-size 1000 --ngpus 1 --out-dir output/schedule --not-show
"""
import argparse
import os
import sys

from ..core.errors import UserError
from .cli import ArgumentParser, run_main, setup_logging


def parse_args(argv=None):
    from .cli import add_cfg_options
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file (or mmyolo::path/to/config.py)')
    p.add_argument('--parameter', choices=['lr', 'momentum', 'wd'], default='lr')
    p.add_argument('--dataset-size', type=int, help='training set size (skips building the dataset)')
    p.add_argument('--ngpus', type=int, default=1, help='number of GPUs the schedule is meant for')
    p.add_argument('--out-dir', help='folder for <config>_<parameter>.png and .csv')
    p.add_argument('--save-path', help='picture path (the CSV goes beside it); overrides --out-dir')
    p.add_argument('--title', help='plot title (default: the config name and parameter)')
    p.add_argument('--style', default='default', help='matplotlib style (default: default)')
    p.add_argument('--window-size', default='12*7', help='figure size in inches, W*H (default 12*7)')
    p.add_argument('--not-show', action='store_true', help='do not open a window')
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    from ..core import quiet
    from ..engine.schedule import plot, simulate, write_csv
    from ..models.config import load_config
    quiet.silence_library_noise()
    try:
        w, h = (float(v) for v in args.window_size.lower().replace('x', '*').split('*'))
    except ValueError:
        raise UserError(f'--window-size {args.window_size!r}: use W*H in inches, e.g. 12*7') from None
    if args.ngpus < 1 or (args.dataset_size is not None and args.dataset_size < 1):
        raise UserError('--ngpus and --dataset-size must be positive')
    import matplotlib.pyplot as plt
    if args.style not in (*plt.style.available, 'default') and not os.path.isfile(args.style):
        raise UserError(f'--style {args.style!r}: not a matplotlib style; use one of '
                        f'{", ".join(sorted(plt.style.available)[:8])}, ... or a .mplstyle file')
    name = os.path.splitext(os.path.basename(args.config.split('::')[-1]))[0]
    save_path = args.save_path or (os.path.join(args.out_dir, f'{name}_{args.parameter}.png') if args.out_dir else None)
    if save_path:  # before the simulation: a bad path must not cost the run
        from ..core.writer import ensure_parent
        ensure_parent(save_path)
    cfg = load_config(args.config, args.cfg_options)
    from ..engine.training import check_config
    check_config(cfg, args.config, 'schedule')
    values, iters_per_epoch = simulate(cfg, args.parameter, args.dataset_size, args.ngpus)
    fig = plot(values, iters_per_epoch, args.parameter, args.title or f'{name}: {args.parameter}', (w, h), args.style)
    print(f'{len(values)} iterations, {iters_per_epoch} per epoch, {len(values[0])} parameter groups')
    if save_path:
        from ..core.writer import atomic_path
        try:
            with atomic_path(save_path) as tmp:
                fig.savefig(tmp, dpi=100)
        except (OSError, ValueError) as e:  # an extension matplotlib cannot write, a full disk
            raise UserError(f'{save_path}: cannot write the plot ({e})') from None
        csv_path = os.path.splitext(save_path)[0] + '.csv'
        write_csv(csv_path, values, iters_per_epoch, args.parameter)
        print(f'wrote {save_path} and {csv_path}')
    if not args.not_show:
        if os.environ.get('DISPLAY') or sys.platform in ('darwin', 'win32'):
            import matplotlib.pyplot as plt
            plt.show()
        else:
            print('no display here: the plot is not shown (use --out-dir or --save-path, and --not-show)')
    return 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
