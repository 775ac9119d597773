"""A strip-organised TIFF against the same pixels tiled, through the large-image demo's reader (issue 20).

    .venv/bin/python benchmarks/strip_tiff_bench.py [--rounds 1] [--no-model]

The picture: demo/large_scene.jpg repeated 3x3 (12000x9000 RGB), written twice with tifffile, deflate:
tiled (512x512 tiles) and as one single strip (tifffile's default layout for a picture written in one call).
Side by side, alternated, the same patch windows (640 px, overlap 0.25):

1. reading every window as ``large_image_demo.py`` does (TiffReader.read), then the 4096 px output thumbnail;
2. with the shipped shapes model on each window, batch 8 (what the demo spends), unless --no-model.

Prints each time, the ratio strip / tiled (goal <= 1.5), how often each strip or tile was decoded, and the
peak memory the reading allocated (tracemalloc: numpy and zlib buffers), against the 309 MiB of the decoded strip.
"""
import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_pictures(folder: Path):
    import tifffile

    from mmyolo_vis.core.images import read_image
    scene = read_image(str(ROOT / 'demo/large_scene.jpg'))[..., ::-1]  # RGB, as TIFF stores it
    big = np.ascontiguousarray(np.tile(scene, (3, 3, 1)))
    tiled, strip = folder / 'tiled.tif', folder / 'strip.tif'
    tifffile.imwrite(tiled, big, photometric='rgb', compression='zlib', tile=(512, 512))
    tifffile.imwrite(strip, big, photometric='rgb', compression='zlib', rowsperstrip=big.shape[0])
    return tiled, strip, big.shape[:2]


def read_all(path, windows, detect=None, thumb=True):
    from mmyolo_vis.large.reader import TiffReader, thumbnail
    reader = TiffReader(str(path))
    t0 = time.perf_counter()
    for start in range(0, len(windows), 8):
        patches = [np.ascontiguousarray(reader.read(*w)) for w in windows[start:start + 8]]
        if detect is not None:
            detect(patches)
    h, w = reader.shape
    if thumb:
        thumbnail(reader, 4096 / max(h, w))
    elapsed = time.perf_counter() - t0
    decoded = reader.decoded
    reader.close()
    return elapsed, decoded


def peak_memory(path, windows, thumb) -> float:
    gc.collect()
    tracemalloc.start()
    read_all(path, windows, thumb=thumb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rounds', type=int, default=1)
    p.add_argument('--no-model', action='store_true')
    args = p.parse_args()
    from mmyolo_vis.large.sliced import slice_grid
    with tempfile.TemporaryDirectory() as tmp:
        tiled, strip, (h, w) = write_pictures(Path(tmp))
        windows = slice_grid(h, w, 640, 0.25)
        print(f'{w}x{h} RGB, {len(windows)} windows of 640 px; files: tiled {tiled.stat().st_size / 2**20:.0f} MiB, '
              f'one strip {strip.stat().st_size / 2**20:.0f} MiB (deflate)')
        runs = [('reading', None)]
        if not args.no_model:
            from mmyolo_vis.models.detector import ModelRunner
            runner = ModelRunner(str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'),
                                 str(ROOT / 'checkpoints/yolov5_n_shapes.pth'), 'cpu')
            runs.append(('reading + model', runner.infer))
        for what, detect in runs:
            t = {'tiled': 0.0, 'strip': 0.0}
            for _ in range(args.rounds):
                for name, path in (('tiled', tiled), ('strip', strip)):
                    elapsed, decoded = read_all(path, windows, detect)
                    t[name] += elapsed
                    t[name + ' decoded'] = decoded
            print(f'{what:16} tiled {t["tiled"] / args.rounds:7.2f} s ({t["tiled decoded"]} tile decodes)   '
                  f'one strip {t["strip"] / args.rounds:7.2f} s ({t["strip decoded"]} strip passes)   '
                  f'ratio strip/tiled {t["strip"] / t["tiled"]:.2f} (goal <= 1.5)')
        for what, thumb in (('the windows', False), ('the windows and the thumbnail', True)):
            print(f'peak memory of reading {what} (tracemalloc): tiled {peak_memory(tiled, windows, thumb):.0f} MiB, '
                  f'one strip {peak_memory(strip, windows, thumb):.0f} MiB (the decoded strip: '
                  f'{h * w * 3 / 2**20:.0f} MiB)')


if __name__ == '__main__':
    main()
