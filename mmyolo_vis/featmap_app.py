"""The feature-map demo: inputs -> model runner -> capture -> reduce/arrange -> render -> write."""
from __future__ import annotations

import argparse
import logging

import numpy as np

from .images import swap_rb
from .capture import capture
from .cli import (EXIT_BAD_INPUT, add_common_args, build_runner, check_common_args, plan_inputs, print_model_preview,
                  run_main, run_per_source, setup_logging)
from .errors import UserError
from .featmap import LetterboxMeta, check_display, parse_channel_reduction

logger = logging.getLogger('mmyolo_vis')


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description='Draw the feature maps of any layers of an MMYOLO / MMDetection detector over the image.')
    add_common_args(p)
    p.add_argument('--out-file', help='output picture path (one input image only)')
    p.add_argument('--target-layers', nargs='+', default=['backbone'],
                   help='layers to show, e.g. backbone neck.out_layers[2] backbone.stage4[-1] (default: backbone)')
    p.add_argument('--channel-reduction', default='select_max',
                   help='squeeze_mean, select_max or None (then --topk channels are shown) (default: select_max)')
    p.add_argument('--topk', type=int, default=4,
                   help='with --channel-reduction None: how many channels to show per map, by activation (default 4)')
    p.add_argument('--arrangement', nargs=2, type=int, default=[2, 2], metavar=('ROWS', 'COLS'),
                   help='with --topk: rows and columns of each map\'s panels (default 2 2)')
    p.add_argument('--alpha', type=float, default=0.5, help='opacity of the heat map over the image (default 0.5)')
    p.add_argument('--save-raw', action='store_true', help='also write the captured tensors as <name>.npz')
    return p


class FeatmapDemo:
    """Holds the model (built once) and draws one picture per image."""

    def __init__(self, runner, target_layers, channel_reduction='select_max', topk=4, arrangement=(2, 2),
                 alpha=0.5, score_thr=0.3, show_labels=True):
        from .layers import resolve_layer
        from .visualizer import FeatmapVisualizer
        self.runner = runner
        self.layers = list(target_layers)
        for name in self.layers:  # fail on a bad name before any image is read
            resolve_layer(runner.model, name)
        self.channel_reduction = channel_reduction
        self.topk, self.arrangement = topk, tuple(arrangement)
        self.score_thr = score_thr
        self.show_labels = show_labels
        self.visualizer = FeatmapVisualizer(alpha=alpha)

    def run(self, image_bgr: np.ndarray):
        """-> (picture RGB, captured maps {name: (C, H, W) array}, detections (boxes, labels, scores))."""
        data = self.runner.preprocess(self.runner.prepare([image_bgr]))
        with capture(self.runner.model, self.layers) as cap:
            result = self.runner.predict(data)[0]
        maps = dict(cap.maps)
        meta = LetterboxMeta.from_metainfo(result.metainfo)
        inst = result.pred_instances
        keep = inst.scores > self.score_thr
        dets = tuple(v[keep].cpu().numpy() for v in (inst.bboxes, inst.labels, inst.scores))
        base = self.visualizer.draw_detections(swap_rb(image_bgr), *dets,
                                               classes=self.runner.classes,
                                               palette=self.runner.model.dataset_meta.get('palette'),
                                               show_labels=self.show_labels)
        blocks = []
        for name, t in maps.items():
            if t.ndim != 4:
                logger.warning('%s: output of shape %s is not a (N, C, H, W) feature map; not drawn',
                               name, tuple(t.shape))
                continue
            blocks.append(self.visualizer.draw_featmap(
                t[0], base, meta, self.channel_reduction, self.topk, self.arrangement,
                title=f'{name} {tuple(t.shape[1:])}'))
        if not blocks:
            raise UserError(f'none of the layers {", ".join(self.layers)} outputs a (N, C, H, W) feature map; '
                            'pick others with --preview-model')
        cols = self.arrangement[1] if self.channel_reduction is None and self.topk > 0 else None
        picture = self.visualizer.arrange(blocks, cols)
        return picture, {k: v[0].cpu().numpy() for k, v in maps.items()}, dets


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    reduction = parse_channel_reduction(args.channel_reduction)
    check_display(1, reduction, args.topk, tuple(args.arrangement))  # arrangement errors before the build
    check_common_args(args)
    planned = plan_inputs(args.img, args.out_dir, args.out_file, ('npz',) if args.save_raw else ())
    if planned is None:
        return EXIT_BAD_INPUT
    sources, outputs, problems = planned

    from .runner import ModelRunner
    from .writer import write_npz, write_rgb
    runner = build_runner(args, outputs, ModelRunner, args.out_file)
    if args.preview_model:
        return print_model_preview(runner, sources, args.max_pixels)
    demo = FeatmapDemo(runner, args.target_layers, reduction, args.topk, args.arrangement, args.alpha,
                       args.score_thr, not args.no_labels)

    def handle(source, out):
        picture, maps, _ = demo.run(source.load(args.max_pixels))
        write_rgb(out.picture, picture)
        if args.save_raw:
            write_npz(out.npz, maps)
        if args.show:
            demo.visualizer.show_image(picture, win_name=source.name)

    return run_per_source(sources, outputs, problems, handle, 'feature maps',
                          outputs[0].picture if args.out_file else args.out_dir)


def cli(argv=None) -> int:
    return run_main(lambda: main(argv))
