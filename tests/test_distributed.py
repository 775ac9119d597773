"""Distributed runs (torchrun, gloo on the CPU, 127.0.0.1): two processes write exactly what one writes."""
import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT

CONFIG = str(ROOT / 'configs/yolov5/yolov5_n_shapes.py')
CHECKPOINT = str(ROOT / 'checkpoints/yolov5_n_shapes.pth')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(script, *args, nproc=1):
    """The script as a user runs it: one process, or torchrun with nproc processes and --launcher pytorch.
    One thread per process in both, so that the arithmetic (and so every byte written) is the same."""
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONPATH=str(ROOT))
    args = [str(a) for a in args]
    if nproc == 1:
        cmd = [sys.executable, str(ROOT / script), *args]
    else:  # as the README says to: tools/dist_run.sh (torchrun, --launcher pytorch added)
        env.update(PORT=str(free_port()), PYTHON=sys.executable)
        cmd = ['bash', str(ROOT / 'tools/dist_run.sh'), str(ROOT / script), str(nproc), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    from mmyolo_vis.datasets.shapes import generate_split
    root = tmp_path_factory.mktemp('dist')
    generate_split(root / 'shapes', 'val', 5, seed=5, size_range=(256, 320))
    (root / 'shapes/images/val/00002_broken.jpg').write_bytes(b'not a jpeg')  # a bad file in one rank's share
    return root


def test_two_processes_write_the_bytes_of_one(folder):
    outs = {}
    for n in (1, 2):
        out = folder / f'featmap_{n}'
        res = run('demo/featmap_vis_demo.py', folder / 'shapes/images/val', CONFIG, CHECKPOINT, '--device', 'cpu',
                  '--target-layers', 'neck', '--save-raw', '--out-dir', out, nproc=n)
        assert res.returncode == 1, res.stderr  # the broken file, on whichever rank, fails the run
        # no traceback, neither ours nor the launcher's (issue 20: torchrun's ChildFailedError is not shown)
        assert 'Traceback' not in res.stderr and 'ChildFailedError' not in res.stderr, res.stderr
        assert res.stderr.count('00002_broken.jpg: not a readable image') == 1
        assert res.stderr.count('wrote 5 pictures to') == 1  # the summary of the whole run, from rank 0
        assert '1 input(s) failed' in res.stderr
        outs[n] = files(out)
    assert sorted(outs[1]) == sorted(outs[2]) and len(outs[1]) == 10  # 5 pictures, 5 .npz
    assert all(outs[1][k] == outs[2][k] for k in outs[1])


def test_eval_boxam_table_is_the_same_on_two_processes(folder):
    tables = {}
    for n in (1, 2):
        out = folder / f'eval_{n}.json'
        res = run('tools/analysis_tools/eval_boxam.py', CONFIG, CHECKPOINT, '--methods', 'gradcam', '--min-size', '0',
                  '--out-file', out, '--cfg-options', f'test_dataloader.dataset.data_root={folder}/shapes/',
                  '--metrics', 'pointing', 'energy', 'deletion', '--steps', '10', '--every', '10', nproc=n)
        assert res.returncode == 0, res.stderr
        assert res.stdout.count('wrote ') == 1  # rank 0 alone writes the table
        tables[n] = json.loads(out.read_text())
        for row in tables[n]['results']:  # (issue 22) deletion AUCs gathered too; the timing is each run's own
            assert row.pop('seconds_per_box', None) is None or row['method'] == 'gradcam'
    assert tables[1]['results'][0]['boxes'] > 0 and tables[1]['results'][0]['deletion_auc'] is not None
    assert [r['method'] for r in tables[1]['results']] == ['gradcam'] + [f'{b} (baseline)' for b in
                                                                         ('random', 'box', 'gaussian')]
    assert tables[1] == tables[2]
