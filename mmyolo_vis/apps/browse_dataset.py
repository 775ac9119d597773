"""Browse a dataset as the model sees it: the loaded images, the network inputs, or every pipeline step.

    python tools/analysis_tools/browse_dataset.py configs/yolov5/yolov5_n_shapes.py --mode pipeline \
        --show-number 5 --out-dir output/browse --not-show
"""
import argparse
import os
import random
import sys

import cv2
import numpy as np

from ..core.errors import SettingsError, UserError
from ..core.progress import progress
from .cli import ArgumentParser, fail, run_main, setup_logging


def parse_args(argv=None):
    from .cli import add_cfg_options
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file (or mmyolo::path/to/config.py)')
    p.add_argument('--phase', choices=['train', 'val', 'test'], default='train')
    p.add_argument('--mode', choices=['original', 'transformed', 'concat', 'pipeline'], default='transformed',
                   help='original: loaded image and ground truth; transformed: the network input; concat: both '
                        'side by side; pipeline: every transform in order (default: transformed)')
    p.add_argument('--show-number', type=int, default=sys.maxsize, help='how many images (default: all)')
    p.add_argument('--show-interval', type=float, default=2, help='seconds between shown images (default 2)')
    p.add_argument('--rescale-factor', type=float, help='scale the written / shown pictures by this factor')
    p.add_argument('--bgr2rgb', action='store_true', help='flip the colour channel order of the pictures')
    p.add_argument('--out-dir', help='write the pictures here')
    p.add_argument('--not-show', action='store_true', help='do not open a window')
    p.add_argument('--seed', type=int, default=0, help='seed of the random transforms (default 0)')
    from ..core.images import DEFAULT_MAX_PIXELS
    p.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS,
                   help=f'refuse, from its header, a picture of more pixels than this (default {DEFAULT_MAX_PIXELS})')
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    from ..core import quiet
    from ..core.writer import write_rgb
    from ..datasets.browser import DatasetBrowser
    from ..models.config import load_config
    quiet.silence_library_noise()
    if args.show_number < 1:
        raise UserError(f'--show-number {args.show_number}: must be positive')
    if args.rescale_factor is not None and args.rescale_factor <= 0:
        raise UserError('--rescale-factor must be positive')
    if args.not_show and not args.out_dir:
        raise UserError('nothing to do: with --not-show, give --out-dir')
    show = not args.not_show
    if show and not (os.environ.get('DISPLAY') or sys.platform in ('darwin', 'win32')):
        print('no display here: pictures are not shown (use --out-dir, and --not-show)', file=sys.stderr)
        show = False
    if args.out_dir:
        from ..core.inputs import ensure_writable_dir
        ensure_writable_dir(args.out_dir)
    random.seed(args.seed)
    np.random.seed(args.seed)
    if args.max_pixels < 1:
        raise UserError(f'--max-pixels {args.max_pixels}: must be positive')
    browser = DatasetBrowser(load_config(args.config, args.cfg_options), args.phase, max_pixels=args.max_pixels)
    count = min(args.show_number, len(browser))
    written = failed = 0
    for index in progress(range(count), count, args.mode):
        try:
            picture = browser.render(args.mode, index)
        except SettingsError:
            raise
        except UserError as e:  # one sample's picture is missing or unreadable: said, skipped
            fail(f'{e} (skipped)')
            failed += 1
            continue
        if picture is None:  # a transform dropped the sample (e.g. no box left)
            continue
        if args.rescale_factor:
            picture = cv2.resize(picture, None, fx=args.rescale_factor, fy=args.rescale_factor)
        if args.bgr2rgb:
            picture = np.ascontiguousarray(picture[..., ::-1])
        if args.out_dir:
            write_rgb(os.path.join(args.out_dir, browser.image_name(index)), picture)
            written += 1
        if show:
            browser.visualizer.show(picture, win_name=browser.image_name(index), wait_time=args.show_interval)
    if args.out_dir:
        print(f'wrote {written} pictures to {args.out_dir}' + (f'; {failed} sample(s) failed' if failed else ''))
    return 1 if failed else 0


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
