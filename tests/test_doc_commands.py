"""The commands of MMYOLO's visualization docs (../shared/data/mmyolo_doc_commands.md), run as written, with
the real COCO YOLOv5-n standing in for the docs' checkpoints: each writes its picture.

Where a command names another model size than the checkpoint's (s or m), the same config at n size is used:
the packaged n-size file where MMYOLO has one, else the named config with the n-size factors."""
import os
import shlex
import shutil

import cv2
import pytest

from conftest import SHARED, requires_shared, run_cli

N_SIZE = ['model.backbone.deepen_factor=0.33', 'model.backbone.widen_factor=0.25', 'model.neck.deepen_factor=0.33',
          'model.neck.widen_factor=0.25', 'model.bbox_head.head_module.widen_factor=0.25']


def doc_commands() -> list[str]:
    """The bash block's commands, continuations joined; a line that breaks a continuation (a doc's missing
    backslash) ends its command, and the dangling option line after it is no command."""
    path = SHARED / 'mmyolo_doc_commands.md'
    if not path.is_file():
        return []
    text = path.read_text()
    block = text.split('```bash', 1)[1].split('```', 1)[0]
    commands, current = [], ''
    for line in block.splitlines() + ['']:
        line = line.strip()
        current += ' ' + line.rstrip('\\').strip()
        if not line or not line.endswith('\\'):  # a blank line ends a command too (one doc ends on a backslash)
            if current.strip().startswith('python '):
                commands.append(current.strip())
            current = ''
    return commands


def n_size(config: str) -> tuple[str, list[str]]:
    """The n-size counterpart of a yolov5 config path, and the --cfg-options it needs (if any)."""
    from mmyolo_vis.models.config import packaged_config
    name = os.path.basename(config)
    size = name.split('-', 1)[0]  # yolov5_s, yolov5_m, ...
    if size == 'yolov5_n':
        return config, []
    n_name = config.replace(name, name.replace(size + '-', 'yolov5_n-', 1))
    if packaged_config(n_name) is not None:
        return n_name, []
    return config, N_SIZE


COMMANDS = doc_commands()


@requires_shared
def test_the_docs_list_every_demo():
    scripts = [shlex.split(c)[1] for c in COMMANDS]
    assert scripts.count('demo/featmap_vis_demo.py') == 10
    assert scripts.count('demo/boxam_vis_demo.py') == 4
    assert scripts.count('demo/large_image_demo.py') == 3


@requires_shared
@pytest.mark.parametrize('command', COMMANDS or ['none'], ids=lambda c: ' '.join(shlex.split(c)[1:2] + shlex.split(c)[5:]))
def test_doc_command_runs_as_written(command, tmp_path, monkeypatch, capsys):
    from mmyolo_vis.apps import boxam as boxam_app, featmap as featmap_app, large_image as large_image_app
    argv = shlex.split(command)[1:]
    script, image, config, _checkpoint, *options = argv
    (tmp_path / 'demo').mkdir()
    shutil.copy(SHARED / 'dog.jpg', tmp_path / image)  # demo/dog.jpg, or demo/large_image.jpg
    monkeypatch.chdir(tmp_path)
    config, extra = n_size(config)
    cli = {'demo/featmap_vis_demo.py': featmap_app.cli, 'demo/boxam_vis_demo.py': boxam_app.cli,
           'demo/large_image_demo.py': large_image_app.cli}[script]
    code, _, err = run_cli(cli, capsys, image, config, SHARED / 'yolov5_n-v61_coco.pth', *options,
                           *(['--cfg-options', *extra] if extra else []))
    assert code == 0, err
    if '--out-file' in options:
        out = options[options.index('--out-file') + 1]
        out = out if os.path.splitext(out)[1] else out + '.jpg'
    else:
        out = os.path.join('output', os.path.basename(image))
    picture = cv2.imread(out)
    assert picture is not None, (out, sorted(os.listdir(tmp_path)))
    assert picture.shape[0] >= 576 and picture.shape[1] >= 768  # at least the image (panels are larger)
    if 'configs/' in config and not os.path.isfile(config):
        assert 'using the installed package\'s config mmyolo::' in err
