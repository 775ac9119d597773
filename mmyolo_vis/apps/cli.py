"""What the demo scripts share: common arguments, logging, the error-to-one-line wrapper and the
per-image loop that reports a bad file, skips it and goes on."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from ..core.errors import UserError
from ..core.progress import progress

logger = logging.getLogger('mmyolo_vis')

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a bad argument said in one line (argparse prints the whole usage first: on every rank of
    a distributed run, a screen of it); ``--help`` shows the usage as before."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f'error: {message} (see {self.prog} --help)\n')


def add_cfg_options(parser: argparse.ArgumentParser):
    """``--cfg-options key=value ...`` as every OpenMMLab tool has it (mmengine's DictAction), with a word
    that is not ``key=value`` refused as an argument error instead of DictAction's traceback."""
    from mmengine.config import DictAction

    class CfgOptions(DictAction):
        def __call__(self, parser, namespace, values, option_string=None):
            bad = [v for v in values if '=' not in v or v.startswith('=')]
            if bad:
                raise argparse.ArgumentError(self, f'{bad[0]!r} is not key=value (e.g. model.test_cfg.score_thr=0.5)')
            super().__call__(parser, namespace, values, option_string)

    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions, default=None,
                        help='override config settings, key=value (e.g. model.test_cfg.score_thr=0.5)')


def add_common_args(parser: argparse.ArgumentParser, score_thr: float = 0.3):
    from ..core.images import DEFAULT_MAX_PIXELS
    parser.add_argument('img', nargs='+', help='image file(s), folder(s) (searched recursively) or http(s) URL(s)')
    parser.add_argument('config', help='config file, or a packaged one such as mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py')
    parser.add_argument('checkpoint', help='checkpoint file or http(s) URL')
    parser.add_argument('--out-dir', default='./output', help='output folder (default: ./output)')
    parser.add_argument('--device', default=None, help='cpu, cuda or cuda:N (default: cuda:0 when a GPU is there, else cpu)')
    parser.add_argument('--score-thr', type=float, default=score_thr, help=f'detection score threshold (default {score_thr})')
    parser.add_argument('--preview-model', action='store_true',
                        help='print every module name with its output shape for one forward pass, then exit')
    parser.add_argument('--show', action='store_true', help='also show each picture in a window')
    parser.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS,
                        help=f'refuse, before decoding, a picture of more pixels than this (default {DEFAULT_MAX_PIXELS})')
    parser.add_argument('--no-labels', action='store_true',
                        help='draw the detected boxes without their "class score" labels')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow a checkpoint that holds pickled Python objects (runs code from it: trusted sources only)')
    add_cfg_options(parser)
    from ..core.distributed import add_launcher_arg
    add_launcher_arg(parser)


def add_faithfulness_args(parser: argparse.ArgumentParser):
    """The protocol of the deletion / insertion / ROAD measures (``cam.faithfulness``)."""
    g = parser.add_argument_group('faithfulness (deletion, insertion, ROAD)')
    g.add_argument('--steps', type=int, default=100,
                   help='deletion / insertion: steps, each changing 1/steps of the reference box (default 100)')
    g.add_argument('--every', type=int, default=10,
                   help='deletion / insertion: score every N steps, and the start (default 10: 11 points)')
    g.add_argument('--insertion-start', choices=('black', 'blur'), default='black',
                   help='insertion starts from a black picture (default) or a blurred one')
    g.add_argument('--road-percentiles', type=int, nargs='+', default=[10, 20, 30, 40, 50, 60, 70, 80, 90],
                   help="ROAD: percentiles of the map removed (default pytorch-grad-cam's 10 .. 90)")
    g.add_argument('--perturb-batch-size', type=int, default=16,
                   help='perturbed pictures per forward pass (default 16)')
    g.add_argument('--seed', type=int, default=0, help='seed of the random values, ties and random map (default 0)')


def faithfulness_protocol(args):
    """The checked protocol of ``add_faithfulness_args``' options (before the model loads)."""
    from ..cam.faithfulness import Protocol
    if args.perturb_batch_size < 1:
        raise UserError(f'--perturb-batch-size {args.perturb_batch_size}: must be positive')
    bad = [p for p in args.road_percentiles if not 0 < p < 100]
    if bad:
        raise UserError(f'--road-percentiles {" ".join(map(str, bad))}: use values between 1 and 99')
    try:
        return Protocol(args.steps, args.every, args.insertion_start, seed=args.seed)
    except ValueError as e:
        raise UserError(f'--steps {args.steps} --every {args.every}: {e}; e.g. --steps 100 --every 10') from None


def add_faithfulness_option(parser: argparse.ArgumentParser, help: str):
    """The demos' ``--faithfulness [METRIC ...]`` (deletion and insertion when given bare) and its protocol."""
    parser.add_argument('--faithfulness', nargs='*', choices=('deletion', 'insertion', 'road'), default=None,
                        metavar='METRIC', help=help)
    add_faithfulness_args(parser)


def faithfulness_request(args) -> tuple[list[str] | None, object]:
    """(metrics, checked protocol) of ``--faithfulness``; (None, None) without it. Before the model loads."""
    if args.faithfulness is None:
        return None, None
    return args.faithfulness or ['deletion', 'insertion'], faithfulness_protocol(args)


def protocol_fields(metrics: list[str], protocol, road_percentiles) -> dict:
    """The protocol as a ``_faithfulness.json`` states it."""
    return dict(metrics=metrics, fractions=[float(f) for f in protocol.fractions], steps=protocol.steps,
                every=protocol.every, insertion_start=protocol.insertion_start, seed=protocol.seed,
                road_percentiles=list(road_percentiles) if 'road' in metrics else None)


def runner_arg_parser(doc: str, checkpoint: bool) -> argparse.ArgumentParser:
    """The arguments of tools/train.py and tools/test.py (MMEngine's Runner)."""
    p = ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file (or mmyolo::path/to/config.py)')
    if checkpoint:
        p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--work-dir', help='where logs and checkpoints go (default: work_dirs/<config name>)')
    add_cfg_options(p)
    from ..core.distributed import add_launcher_arg
    add_launcher_arg(p)  # MMEngine's Runner starts the process group itself (tools/dist_run.sh adds pytorch)
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow checkpoints that hold pickled Python objects (MMEngine training checkpoints)')
    return p


def check_common_args(args):
    """Range checks of the common options and of --alpha where a script has it: before the model loads."""
    if args.max_pixels < 1:
        raise UserError(f'--max-pixels {args.max_pixels}: must be positive')
    alpha = getattr(args, 'alpha', None)
    if alpha is not None and not 0 <= alpha <= 1:
        raise UserError(f'--alpha {alpha}: use a value between 0 and 1')


def check_evaluation_args(num_images: int, out_file: str | None):
    """What the two evaluation tools (eval_boxam, eval_cls_cam) check before any model is built: --num-images
    (-1: the whole split; 0 would evaluate nothing and print a table of zeros) and --out-file."""
    if num_images == 0 or num_images < -1:
        raise UserError(f'--num-images {num_images}: give a positive number, or leave it out for the whole split')
    check_out_file(out_file)


def readable_only(items: list, path_of: Callable) -> tuple[list, int]:
    """The items of an evaluation split whose picture reads (``read_image``: the demos' own guard, decoded once
    here before any map is made), and how many did not: each of those is said in one line and skipped, as a bad
    file of a folder run is; the tool then exits 1 after writing what it measured."""
    from ..core.errors import first_line
    from ..core.images import read_image
    kept, bad = [], 0
    for item in items:
        try:
            read_image(path_of(item))
        except UserError as e:
            logger.error('error: %s (skipped)', first_line(e))
            bad += 1
            continue
        kept.append(item)
    if not kept:
        raise UserError('no picture of the split could be read (each is said above); check the data root')
    return kept, bad


def check_out_file(path: str | None):
    """An evaluation's --out-file, checked before the evaluation (its results must not be lost on a bad
    path): the folder can be made and written, the name fits the file system."""
    if path:
        from ..core.writer import ensure_parent
        ensure_parent(path)


def setup_logging(verbose: bool = False):
    from ..core.progress import BarSafeHandler
    handler = BarSafeHandler()
    handler.setFormatter(logging.Formatter('%(message)s'))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    from ..core.progress import say
    say(f'error: {message}')
    return code


def run_main(main: Callable[[], int]) -> int:
    """Run a script's main: a UserError becomes one line on stderr and exit code 2, no traceback."""
    try:
        return main()
    except UserError as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return fail('interrupted', 130)


def plan_inputs(img_args: list[str], out_dir: str, out_file: str | None = None, side: tuple[str, ...] = (),
                out_file_option: str = '--out-file'):
    """Sources and every output name of the run (``core.outputs``), bad arguments reported one line each.

    ``side``: the side outputs the run writes (npz, json, debug, patches, box); ``out_file_option``: the
    option that gives ``out_file`` (its name in messages). Returns (sources, plans, problems), or None when no
    input is usable. Refuses to overwrite an input."""
    import os

    from ..core.distributed import is_main
    from ..core.inputs import collect_sources, is_url
    from ..core.outputs import check_not_inputs, plan_outputs
    sources, problems = collect_sources(img_args, out_dir)
    for p in problems:
        if is_main():  # every rank finds the same problems: rank 0 says them
            fail(p)
    if not sources:
        return None
    if out_file and len(sources) > 1:
        raise UserError(f'{out_file_option} takes one input image, got {len(sources)}; use --out-dir')
    if out_file and not os.path.splitext(out_file)[1]:
        out_file += '.jpg'
        logger.info('%s has no extension: writing %s', out_file_option, out_file)
    plans = plan_outputs([s.rel for s in sources], out_dir, side, out_file)
    check_not_inputs(plans, side, [s.location for s in sources if not is_url(s.location)])
    sources, plans = _names_that_fit(sources, plans, side, problems)
    if not sources:
        return None
    return sources, plans, problems


def _names_that_fit(sources, plans, side, problems):
    """Inputs whose output names the file system can hold; each other one is said (rank 0) and dropped."""
    from ..core.distributed import is_main
    from ..core.writer import check_name
    exact = tuple(k for k in side if k in ('npz', 'json', 'debug'))
    kept = []
    for source, plan in zip(sources, plans):
        try:
            for name in [plan.picture, *plan.side_names(exact)]:
                check_name(name)
        except UserError as e:
            problems.append(str(e))
            if is_main():
                fail(f'{e} (skipped)')
            continue
        kept.append((source, plan))
    return [s for s, _ in kept], [p for _, p in kept]


def build_runner(args, outputs, make_runner, out_file: str | None = None, out_file_option: str = '--out-file'):
    """The start every tool shares once its outputs are planned: the output folder checked (not for
    ``--preview-model``), the process group joined (``--launcher``, which also picks the rank's device) and
    the model built by ``make_runner(config, checkpoint, device, cfg_options, trust_checkpoint)``."""
    import os

    from ..core.distributed import init_distributed
    from ..core.inputs import ensure_writable_dir
    if not getattr(args, 'preview_model', False):
        if out_file:
            ensure_writable_dir(os.path.dirname(os.path.abspath(outputs[0].picture)), out_file_option)
        else:
            ensure_writable_dir(args.out_dir)
    args.device = init_distributed(args.launcher, args.device)
    return make_runner(args.config, args.checkpoint, args.device, args.cfg_options, args.trust_checkpoint)


def print_model_preview(runner, sources, max_pixels: int | None, forward=None) -> int:
    """``--preview-model``: every module with its output shape on the first image (``forward(image)``: see
    ``preview.module_output_shapes``)."""
    from ..models.preview import format_tree, module_output_shapes
    print(format_tree(module_output_shapes(runner, sources[0].load(max_pixels), forward)))
    return EXIT_OK


def run_per_source(sources, outputs, problems, handle, desc: str, where: str, bar: bool = True) -> int:
    """Call ``handle(source, out)`` for each input: a bad file is reported and skipped, bad settings
    stop the run. ``handle`` may return how many pictures it wrote (default one). Logs a summary and
    returns the exit code (1 when anything failed). In a distributed run each rank takes its share of the
    inputs; rank 0 shows the progress of its share and the summary of the whole run."""
    from ..core.distributed import is_main, shard, sum_over_ranks, wait_for_all
    from ..core.errors import SettingsError
    failed = pictures = 0
    pairs = shard(list(zip(sources, outputs)))
    for source, out in (progress(pairs, len(pairs), desc, enabled=None if is_main() else False) if bar else pairs):
        try:
            n = handle(source, out)
            pictures += 1 if n is None else n
        except SettingsError:
            raise
        except UserError as e:
            failed += 1
            message = str(e) if source.name in str(e) else f'{source.name}: {e}'
            logger.error('error: %s (skipped)', message)
    pictures, failed = sum_over_ranks(pictures, failed)
    done = len(sources) - failed
    images = '' if pictures == done else f' for {done} image{"" if done == 1 else "s"}'
    logger.info('wrote %d picture%s%s to %s%s', pictures, '' if pictures == 1 else 's', images, where,
                f'; {failed + len(problems)} input(s) failed' if failed or problems else '')
    wait_for_all()
    return EXIT_SOME_FAILED if failed or problems else EXIT_OK
