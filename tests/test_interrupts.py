"""Ctrl-C (SIGINT) while a tool writes: exit 130, and every file left behind loads (issue 20, defect 3).

Every writer goes through ``core.writer.atomic_path``: the bytes go to a hidden temporary name in the same
folder, renamed into place once complete."""
import json
import os
import signal
import threading
import time

import cv2
import numpy as np
import pytest

from conftest import ROOT, TINY_CONFIG, make_image


# ------------------------------------------------------------------ the writer itself
def test_an_interrupted_write_leaves_neither_the_name_nor_a_temporary(tmp_path, monkeypatch):
    from mmyolo_vis.core import writer
    target = tmp_path / 'a.npz'
    target.write_bytes(b'the previous run\'s complete file')

    def half_then_interrupt(path, **arrays):
        with open(path, 'wb') as f:
            f.write(b'PK\x03\x04 half an archive')
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.np, 'savez_compressed', half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        writer.write_npz(str(target), dict(x=np.zeros(3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.npz']
    assert target.read_bytes() == b'the previous run\'s complete file'


def test_every_writer_renames_a_complete_file_into_place(tmp_path, monkeypatch):
    from mmyolo_vis.core import writer
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.path.basename(src), os.path.basename(dst), os.path.getsize(src)))
        real_replace(src, dst)

    monkeypatch.setattr(writer.os, 'replace', spy)
    writer.write_rgb(str(tmp_path / 'p.png'), np.zeros((4, 5, 3), np.uint8))
    writer.write_npz(str(tmp_path / 'r.npz'), dict(a=np.arange(3)))
    writer.write_json(str(tmp_path / 'j.json'), dict(a=1))
    writer.write_text(str(tmp_path / 'c.csv'), 'a,b\n1,2\n')
    assert [d for _, d, _ in seen] == ['p.png', 'r.npz', 'j.json', 'c.csv']
    assert all(s.startswith('.') and s.endswith(os.path.splitext(d)[1]) and n > 0 for s, d, n in seen)
    assert cv2.imread(str(tmp_path / 'p.png')).shape == (4, 5, 3)
    assert np.load(tmp_path / 'r.npz')['a'].tolist() == [0, 1, 2]
    assert json.loads((tmp_path / 'j.json').read_text()) == dict(a=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['c.csv', 'j.json', 'p.png', 'r.npz']


# ------------------------------------------------------------------ Ctrl-C in the middle of a folder run
def loads(path):
    if path.suffix == '.npz':
        with np.load(path) as z:
            return all(z[k] is not None for k in z.files)
    if path.suffix == '.json':
        json.loads(path.read_text())
        return True
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is not None


def interrupt_when_written(out, delay: float, done: threading.Event):
    """SIGINT to this process once the first output exists (and ``delay`` later), unless the run is over."""
    def watch():
        while not done.is_set():
            if out.exists() and any(p.is_file() for p in out.rglob('*')):
                time.sleep(delay)
                if not done.is_set():
                    os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.005)
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


TOOLS = {
    'featmap': ('featmap', ['--save-raw']),
    'boxam': ('boxam', ['--save-raw', '--per-box']),
    'large': ('large_image', ['--patch-size', '160', '--export-json', '--debug', '--save-patch']),
    'vis_cam': ('vis_cam', []),
}


@pytest.mark.parametrize('tool', TOOLS)
def test_ctrl_c_leaves_only_files_that_load(tool, tmp_path, tiny_checkpoint, capsys):
    import importlib
    module, extra = TOOLS[tool]
    for k in range(24):
        make_image(tmp_path / 'in' / f'{k:02d}.png', 200 + 8 * k, 120, seed=k)
    out = tmp_path / 'out'
    model = [str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py'),
             str(ROOT / 'checkpoints/resnet18_tiny_shapes.pth')] if tool == 'vis_cam' else [TINY_CONFIG, tiny_checkpoint]
    cli = importlib.import_module(f'mmyolo_vis.apps.{module}').cli
    done = threading.Event()
    watcher = interrupt_when_written(out, 0.01, done)
    try:
        code = cli([str(tmp_path / 'in'), *model, '--device', 'cpu', '--out-dir', str(out), *extra])
    finally:
        done.set()
        try:  # a signal already on its way lands here, not in pytest
            watcher.join(1)
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
    err = capsys.readouterr().err
    assert code == 130, err
    assert 'error: interrupted' in err and 'Traceback' not in err
    left = [p for p in out.rglob('*') if p.is_file()]
    assert left, 'the run was interrupted before it wrote anything'
    assert not [p for p in left if p.name.startswith('.')], left
    assert all(loads(p) for p in left), [p.name for p in left if not loads(p)]


def test_ctrl_c_on_a_distributed_run_exits_130_without_the_launchers_traceback(tmp_path):
    """tools/dist_run.sh, 2 processes: Ctrl-C (SIGINT to the terminal's process group) once the first picture
    is written: the launcher exits 130, each rank says 'interrupted', no traceback, every file left loads."""
    import socket
    import subprocess
    for k in range(40):
        make_image(tmp_path / 'in' / f'{k:02d}.png', 200 + 4 * k, 120, seed=k)
    out = tmp_path / 'out'
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(port))
    proc = subprocess.Popen(['bash', str(ROOT / 'tools/dist_run.sh'), 'demo/featmap_vis_demo.py', '2',
                             str(tmp_path / 'in'), str(ROOT / 'configs/yolov5/yolov5_n_shapes.py'),
                             str(ROOT / 'checkpoints/yolov5_n_shapes.pth'), '--device', 'cpu', '--out-dir', str(out),
                             '--save-raw'],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and any(p.suffix == '.npz' for p in out.rglob('*')):
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert 'Traceback' not in err and 'ChildFailedError' not in err, err
    assert 'error: interrupted' in err
    left = [p for p in out.rglob('*') if p.is_file()]
    assert left and not [p for p in left if p.name.startswith('.')]
    assert all(loads(p) for p in left)
