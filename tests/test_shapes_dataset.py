import json
import subprocess
import sys

from conftest import ROOT


def test_same_seed_gives_identical_annotations(tmp_path):
    outs = []
    for run in range(2):
        out = tmp_path / f'run{run}'
        subprocess.run([sys.executable, str(ROOT / 'tools/dataset_converters/make_shapes_dataset.py'), str(out),
                        '--num-train', '6', '--num-val', '3', '--seed', '7', '--large-scene',
                        str(out / 'large.jpg'), '--large-size', '800', '600', '--large-objects', '30'],
                       check=True, capture_output=True)
        outs.append(out)
    for name in ['annotations/train.json', 'annotations/val.json', 'large.json']:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    for i in range(6):
        assert (outs[0] / f'images/train/{i:05d}.jpg').read_bytes() == (outs[1] / f'images/train/{i:05d}.jpg').read_bytes()
    train = json.loads((outs[0] / 'annotations/train.json').read_text())
    assert [c['name'] for c in train['categories']] == ['circle', 'square', 'triangle', 'star']
    assert len(train['images']) == 6 and len(train['annotations']) >= 6
    for a in train['annotations']:
        img = train['images'][a['image_id'] - 1]
        x, y, w, h = a['bbox']
        assert 0 <= x and 0 <= y and x + w <= img['width'] and y + h <= img['height']
        assert max(w, h) >= 11
    large = json.loads((outs[0] / 'large.json').read_text())
    sizes = [max(a['bbox'][2:]) for a in large['annotations']]
    assert len(sizes) >= 25 and 11 <= min(sizes) and max(sizes) <= 41


def test_other_seed_differs(tmp_path):
    for seed in (1, 2):
        subprocess.run([sys.executable, str(ROOT / 'tools/dataset_converters/make_shapes_dataset.py'),
                        str(tmp_path / str(seed)), '--num-train', '2', '--num-val', '1', '--seed', str(seed)],
                       check=True, capture_output=True)
    assert (tmp_path / '1/annotations/train.json').read_bytes() != (tmp_path / '2/annotations/train.json').read_bytes()
