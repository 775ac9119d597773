"""Turn an MMEngine training checkpoint (yours, trusted) into a small tensor-only file that loads
with ``weights_only=True``: the (EMA) weights plus ``meta.dataset_meta`` (class names, palette).

    python tools/model_converters/publish_model.py work_dirs/yolov5_n_shapes/best_coco_bbox_mAP_50_epoch_24.pth \
        checkpoints/yolov5_n_shapes.pth
"""
import argparse

from .cli import ArgumentParser

import torch


def main(argv=None):
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('src', help='training checkpoint written by MMEngine (full pickle: only your own files)')
    p.add_argument('dst', help='published checkpoint')
    p.add_argument('--half', action='store_true',
                   help='store floating-point tensors as float16 (half the size; loading casts them back)')
    args = p.parse_args(argv)
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    # MMEngine's EMAHook swaps the EMA weights into "state_dict" when it saves.
    state = {k: v.contiguous() for k, v in ckpt['state_dict'].items() if not k.startswith('data_preprocessor')}
    if args.half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    meta = ckpt.get('meta', {})
    ds = meta.get('dataset_meta', {})
    dataset_meta = dict(classes=list(ds['classes']))
    if ds.get('palette'):  # detection sets have one, classification sets do not
        dataset_meta['palette'] = [list(map(int, c)) for c in ds['palette']]
    out_meta = dict(dataset_meta=dataset_meta,
                    epoch=int(meta.get('epoch', -1)), iter=int(meta.get('iter', -1)),
                    mmyolo_version=str(meta.get('mmyolo_version', '')))
    torch.save(dict(state_dict=state, meta=out_meta), args.dst)
    torch.load(args.dst, map_location='cpu', weights_only=True)  # proves it loads safely
    print(f'wrote {args.dst}: {len(state)} tensors, classes {out_meta["dataset_meta"]["classes"]}')
    return 0


def cli(argv=None) -> int:
    return main(argv)
