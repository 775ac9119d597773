"""The map hooks (``mmyolo_vis.hooks``) in real MMEngine training runs: the shapes detector on a tiny generated
set for 2 short epochs with both detector hooks and the TensorBoard backend, the event file read back; the same
losses at every iteration with and without the hooks; the CAM hook on a demo classifier."""
import copy
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT

DET_CONFIG = str(ROOT / 'configs/yolov5/yolov5_n_shapes_vis_hooks.py')
CLS_CONFIG = str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py')
_runs = itertools.count()


def loss_recorder():
    """A hook that keeps every training iteration's losses (as Python floats) in ``.losses``."""
    from mmengine.hooks import Hook

    class LossRecorder(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.losses = []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.losses.append({k: float(v.detach()) for k, v in sorted(outputs.items())})
    return LossRecorder()


def train_with_and_without(cfg, tmp_path_factory, prefix: str) -> dict:
    """{True: (runner, losses) of the training with the hooks, False: the same without them}."""
    runs = {}
    for hooks in (True, False):
        cfg.work_dir = str(tmp_path_factory.mktemp(prefix + ('with' if hooks else 'without')))
        runner, recorder = quiet_runner(cfg, hooks)
        runner.train()
        runs[hooks] = (runner, recorder.losses)
    return runs


def quiet_runner(cfg, hooks: bool):
    """MMEngine's Runner for ``cfg`` (a Config), with or without the map hooks of its custom_hooks."""
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    if not hooks:
        cfg.custom_hooks = [h for h in cfg.custom_hooks if not str(h['type']).endswith('VisHook')]
        cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    # MMEngine's visualizer is one instance per name: a second runner would log through the first's backends
    cfg.visualizer.name = f'visualizer_{next(_runs)}'
    runner = Runner.from_cfg(cfg)
    recorder = loss_recorder()
    runner.register_hook(recorder)
    return runner, recorder


def short_training(cfg, data_root, work_dir, max_epochs=2):
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.num_workers, loader.persistent_workers = 0, False  # the pipeline's random numbers in this process
        loader.dataset.data_root = f'{data_root}/'
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=100)
    return cfg


def smaller_input(node, side: int = 128, shipped: int = 320):
    """The shapes config's pipelines at ``side`` px instead of 320 (its pipelines hold the size as numbers, not
    as a variable): training costs about (side / 320)^2."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('scale', 'img_scale') and tuple(value) == (shipped, shipped):
                node[key] = (side, side)
            elif key == 'border' and tuple(value) == (-shipped // 2, -shipped // 2):
                node[key] = (-side // 2, -side // 2)
            elif key == 'img_size' and value == shipped:
                node[key] = side
            else:
                smaller_input(value, side, shipped)
    elif isinstance(node, (list, tuple)):
        for item in node:
            smaller_input(item, side, shipped)
    return node


def read_events(work_dir):
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator
    files = sorted(work_dir.rglob('events.out.tfevents.*'))
    assert len(files) == 1, files
    acc = EventAccumulator(str(files[0].parent), size_guidance={IMAGES: 0})
    acc.Reload()
    return acc


def decoded(event):
    import cv2
    return cv2.imdecode(np.frombuffer(event.encoded_image_string, np.uint8), cv2.IMREAD_COLOR)


# ---------------------------------------------------------------- detector
@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    from mmyolo_vis.apps.make_shapes_dataset import main
    root = tmp_path_factory.mktemp('shapes')
    main([str(root), '--num-train', '8', '--num-val', '4', '--min-side', '96', '--max-side', '160', '--seed', '3'])
    return root


@pytest.fixture(scope='module')
def detector_runs(shapes, tmp_path_factory):
    """The shapes model (at 128 px) trained twice for 2 epochs of 2 iterations of 4 pictures from one seed: with
    the feature-map hook (after each validation) and the box-map hook (every 3 training iterations), and without
    them."""
    from mmengine.config import Config
    cfg = short_training(Config.fromfile(DET_CONFIG), shapes, None)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'custom_hooks'):
        smaller_input(cfg[key])
    cfg.train_dataloader.batch_size = 4  # 2 iterations an epoch
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
    cfg.default_hooks.param_scheduler.max_epochs = 2
    cfg.val_evaluator.ann_file = cfg.test_evaluator.ann_file = f'{shapes}/annotations/val.json'
    for hook in cfg.custom_hooks:
        if hook['type'] == 'FeatmapVisHook':
            hook.update(num_images=2)
        elif hook['type'] == 'BoxAMVisHook':
            hook.update(num_images=2, event='train_iter', interval=3, score_thr=0.0, topk=2)
    return train_with_and_without(cfg, tmp_path_factory, '')


def test_detector_hooks_log_the_demo_pictures_to_tensorboard_and_files(detector_runs, shapes):
    import cv2
    runner, _ = detector_runs[True]
    acc = read_events(Path(runner.work_dir))
    dataset = runner.val_dataloader.dataset  # in its order (YOLOv5's batch shapes sort it by aspect ratio)
    stems = [Path(dataset.get_data_info(i)['img_path']).stem for i in range(2)]
    featmap_tags = [f'featmap_{s}' for s in stems]
    boxam_tags = [f'boxam_gradcam_{s}' for s in stems]
    assert sorted(acc.Tags()['images']) == sorted(featmap_tags + boxam_tags)
    for tag in featmap_tags:  # after each of the 2 validations (epochs 1, 2)
        assert [e.step for e in acc.Images(tag)] == [1, 2]
    for tag in boxam_tags:  # every 3 training iterations of 4: iteration 3 only
        assert [e.step for e in acc.Images(tag)] == [3]

    # the pictures are the demos' pictures of those val images, at their size
    for s in stems:
        original = cv2.imread(str(shapes / f'images/val/{s}.jpg'))
        h, w = original.shape[:2]
        box = acc.Images(f'boxam_gradcam_{s}')[0]
        assert (box.height, box.width) == (h, w)
        feat = acc.Images(f'featmap_{s}')[0]
        # 'neck' gives 3 maps, one titled panel each (26 px title), in one row, 6 px apart and around
        assert (feat.height, feat.width) == (h + 26 + 2 * 6, 3 * (w + 6) + 6)

    # the local backend wrote the same pictures: vis_image/<tag>_<step>.png
    local = sorted(p.name for p in Path(runner.work_dir).rglob('vis_image/*.png'))
    assert local == sorted([f'{t}_{k}.png' for t in featmap_tags for k in (1, 2)] + [f'{t}_3.png' for t in boxam_tags])
    one = next(Path(runner.work_dir).rglob(f'vis_image/featmap_{stems[0]}_2.png'))
    assert np.array_equal(cv2.imread(str(one)), decoded(acc.Images(f'featmap_{stems[0]}')[1]))


def test_losses_of_every_iteration_are_those_of_training_without_the_hooks(detector_runs):
    (_, with_hooks), (_, without) = detector_runs[True], detector_runs[False]
    assert len(with_hooks) == len(without) == 4
    assert with_hooks == without
    assert with_hooks[0] != with_hooks[-1]  # the losses did change: the runs trained


# ---------------------------------------------------------------- classifier
@pytest.fixture(scope='module')
def shapes_cls(tmp_path_factory):
    from mmyolo_vis.apps.make_shapes_cls_dataset import main
    root = tmp_path_factory.mktemp('shapes_cls')
    main([str(root), '--num-train', '16', '--num-val', '4', '--seed', '3'])
    return root


@pytest.fixture(scope='module')
def classifier_runs(shapes_cls, tmp_path_factory):
    """The demo CNN classifier trained twice for 2 epochs of 2 iterations from one seed, with CAMVisHook (after
    each validation) and the TensorBoard backend, and without them."""
    from mmengine.config import Config
    config = tmp_path_factory.mktemp('config') / 'resnet18_tiny_shapes_cam_hook.py'
    config.write_text(f"""_base_ = ['{CLS_CONFIG}']
custom_imports = dict(imports=['mmyolo_vis.hooks.cam'], allow_failed_imports=False)
custom_hooks = [dict(type='CAMVisHook', method='gradcam', num_images=2)]
visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
""")
    cfg = short_training(Config.fromfile(str(config)), shapes_cls, None)
    cfg.train_dataloader.batch_size = 8  # 2 iterations an epoch
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
    return train_with_and_without(cfg, tmp_path_factory, 'cls_')


def test_cam_hook_logs_the_vis_cam_pictures(classifier_runs, shapes_cls):
    import cv2
    runner, _ = classifier_runs[True]
    acc = read_events(Path(runner.work_dir))
    dataset = runner.val_dataloader.dataset
    paths = [dataset.get_data_info(i)['img_path'] for i in range(2)]
    tags = [f'cam_gradcam_{Path(p).stem}' for p in paths]
    assert sorted(acc.Tags()['images']) == sorted(tags)
    for tag, path in zip(tags, paths):
        events = acc.Images(tag)
        assert [e.step for e in events] == [1, 2]
        h, w = cv2.imread(path).shape[:2]  # one titled panel (the predicted class) on the 72x72 picture
        assert (events[0].height, events[0].width) == (h + 26 + 2 * 6, w + 2 * 6) == (110, 84)
        title_band = decoded(events[-1])[6:6 + 26, 6:6 + w]
        assert (title_band < 128).any()  # the panel is titled (method, class, probability)
    local = sorted(p.name for p in Path(runner.work_dir).rglob('vis_image/*.png'))
    assert local == sorted(f'{t}_{k}.png' for t in tags for k in (1, 2))


def test_cam_hook_leaves_the_classifier_training_as_it_was(classifier_runs):
    (_, with_hooks), (_, without) = classifier_runs[True], classifier_runs[False]
    assert len(with_hooks) == len(without) == 4
    assert with_hooks == without


# ---------------------------------------------------------------- one drawing, on a stand-in runner
class StubRunner:
    """What the hooks use of MMEngine's Runner: model, cfg, visualizer (add_image, dataset_meta), logger, the
    counters."""

    def __init__(self, model, cfg, classes):
        import logging
        self.model, self.cfg, self.epoch, self.iter = model, cfg, 1, 0
        self.logger = logging.getLogger('stub')
        self.images = []
        runner = self

        class Visualizer:
            dataset_meta = dict(classes=classes)

            def add_image(self, name, image, step=0):
                runner.images.append((name, image, step))
        self.visualizer = Visualizer()


def test_a_gradient_box_map_leaves_modes_grads_params_rng_and_hooks_as_they_were(tmp_path):
    import random

    from conftest import TINY_CONFIG, make_image
    from mmyolo_vis.hooks.boxam import BoxAMVisHook
    from mmyolo_vis.models.detector import ModelRunner
    torch.manual_seed(0)
    built = ModelRunner(TINY_CONFIG, None, 'cpu')
    model = built.model.train()
    model.backbone.stem.eval()  # a module kept in eval mode by its trainer (a frozen stage) stays so
    gen = torch.Generator().manual_seed(1)
    for p in model.parameters():  # gradients waiting for the optimizer (gradient accumulation)
        p.grad = torch.randn(p.shape, generator=gen)
    grads = {n: p.grad for n, p in model.named_parameters()}
    grad_values = {n: g.clone() for n, g in grads.items()}
    state = copy.deepcopy(model.state_dict())  # parameters and BN running statistics
    modes = {n: m.training for n, m in model.named_modules()}
    runner = StubRunner(model, built.cfg, ('a', 'b', 'c'))
    hook = BoxAMVisHook(images=[make_image(tmp_path / 'one.jpg', 200, 120)], method='gradcam', score_thr=0.0,
                        topk=3)
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    hook.after_val_epoch(runner)
    after = random.random(), np.random.rand(), torch.rand(1).item()
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    assert after == (random.random(), np.random.rand(), torch.rand(1).item())

    (name, picture, step), = runner.images
    assert (name, picture.shape, picture.dtype, step) == ('boxam_gradcam_one', (120, 200, 3), np.uint8, 1)
    assert hook.failures == 0
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert all(p.grad is grads[n] and torch.equal(p.grad, grad_values[n]) for n, p in model.named_parameters())
    after_state = model.state_dict()
    assert all(torch.equal(after_state[k], v) for k, v in state.items())
    hooked = [n for n, m in model.named_modules() if m._forward_hooks or m._backward_hooks or
              m._forward_pre_hooks or hasattr(m, '_output_copy_hook')]
    assert hooked == []  # the training's own forward passes feed no CAM


def test_only_rank_0_draws_and_bad_options_fail_at_once(monkeypatch, tiny_runner, tmp_path):
    import mmengine.dist

    from conftest import make_image
    from mmyolo_vis.core.errors import UserError
    from mmyolo_vis.hooks.boxam import BoxAMVisHook
    from mmyolo_vis.hooks.featmap import FeatmapVisHook
    runner = StubRunner(tiny_runner.model, tiny_runner.cfg, ('a', 'b', 'c'))
    hook = FeatmapVisHook(images=[make_image(tmp_path / 'one.jpg')], event='train_iter', interval=2)
    monkeypatch.setattr(mmengine.dist, 'is_main_process', lambda: False)
    hook.before_train(runner)
    for runner.iter in range(4):
        hook.after_train_iter(runner, runner.iter)
    assert runner.images == [] and hook._drawer is None  # another rank builds nothing, draws nothing
    monkeypatch.setattr(mmengine.dist, 'is_main_process', lambda: True)
    for runner.iter in range(4):
        hook.after_train_iter(runner, runner.iter)
    assert [(n, s) for n, _, s in runner.images] == [('featmap_one', 2), ('featmap_one', 4)]
    with pytest.raises(UserError, match='event'):
        FeatmapVisHook(event='epoch')
    with pytest.raises(UserError, match='interval'):
        FeatmapVisHook(interval=0)
    with pytest.raises(UserError, match='method'):
        BoxAMVisHook(method='gradcam+++')
    with pytest.raises(UserError, match='backbone.nope'):  # a bad layer fails before the first iteration
        FeatmapVisHook(images=[make_image(tmp_path / 'one.jpg')], target_layers=['backbone.nope']).before_train(runner)


# ---------------------------------------------------------------- reading the pictures back
def test_event_images_lays_one_tag_side_by_side(tmp_path, capsys):
    import cv2
    from torch.utils.tensorboard import SummaryWriter

    from conftest import run_cli
    from mmyolo_vis.apps.event_images import cli
    writer = SummaryWriter(str(tmp_path / 'run' / 'vis_data'))
    colours = {1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255)}
    for step, colour in colours.items():
        writer.add_image('featmap_x', np.full((40, 60, 3), colour, np.uint8), step, dataformats='HWC')
        writer.add_image('other', np.zeros((10, 10, 3), np.uint8), step, dataformats='HWC')
    writer.close()
    code, out, _ = run_cli(cli, capsys, tmp_path, '--out', tmp_path / 'x.png')
    assert code == 0 and 'featmap_x: steps 1 2 3' in out and 'other: steps 1 2 3' in out
    code, _, _ = run_cli(cli, capsys, tmp_path, '--tag', 'featmap_x', '--steps', '3', '1', '--out', tmp_path / 'x.png')
    assert code == 0
    picture = cv2.cvtColor(cv2.imread(str(tmp_path / 'x.png')), cv2.COLOR_BGR2RGB)
    assert picture.shape == (6 + 26 + 40 + 6, 6 + 2 * (60 + 6), 3)  # two titled panels in one row
    assert tuple(picture[6 + 26 + 20, 6 + 30]) == colours[3] and tuple(picture[6 + 26 + 20, 6 + 66 + 30]) == colours[1]
    code, _, err = run_cli(cli, capsys, tmp_path, '--tag', 'featmap_x', '--steps', '4')
    assert code == 2 and err.strip() == 'error: --steps 4: not logged under featmap_x (steps 1 2 3)'
    code, _, err = run_cli(cli, capsys, tmp_path / 'run' / 'nothing', '--tag', 'a')
    assert code == 2 and 'no TensorBoard event file' in err


# ---------------------------------------------------------------- distributed training
def test_two_process_training_draws_on_rank_0_and_does_not_hang(shapes_cls, tmp_path):
    """torchrun, 2 CPU processes (gloo), the classifier wrapped in DistributedDataParallel: rank 0 draws a
    gradient CAM (a backward pass) through the model inside the wrapper; a rank waiting on a collective the
    other does not join would hang until the timeout."""
    import os
    import socket
    import subprocess
    import sys
    config = tmp_path / 'cls_cam_hook_dist.py'
    config.write_text(f"""_base_ = ['{CLS_CONFIG}']
custom_imports = dict(imports=['mmyolo_vis.hooks.cam'], allow_failed_imports=False)
custom_hooks = [dict(type='CAMVisHook', method='gradcam', num_images=2)]
visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, dataset=dict(data_root='{shapes_cls}/'))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root='{shapes_cls}/'))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=100, save_last=False), logger=dict(interval=100))
randomness = dict(seed=0)
""")
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(ROOT))
    work = tmp_path / 'work'
    res = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-addr',
                          '127.0.0.1', '--master-port', str(port), str(ROOT / 'tools/train.py'), str(config),
                          '--work-dir', str(work), '--launcher', 'pytorch'],
                         capture_output=True, text=True, env=env, timeout=400)
    assert res.returncode == 0, res.stderr[-3000:]
    acc = read_events(work)  # one event file: rank 0's
    assert len(acc.Tags()['images']) == 2
    assert all([e.step for e in acc.Images(tag)] == [1, 2] for tag in acc.Tags()['images'])
    assert len(list(work.rglob('vis_image/cam_gradcam_*.png'))) == 4


def test_the_featmap_hook_draws_the_demos_picture_byte_for_byte(tmp_path, capsys, tiny_checkpoint):
    from conftest import TINY_CONFIG, make_image, run_cli
    from mmyolo_vis.apps.featmap import cli
    from mmyolo_vis.core.writer import write_rgb
    from mmyolo_vis.hooks.featmap import FeatmapVisHook
    from mmyolo_vis.models.detector import ModelRunner
    image = make_image(tmp_path / 'in' / 'scene.jpg', 200, 120)
    code, _, _ = run_cli(cli, capsys, image, TINY_CONFIG, tiny_checkpoint, '--device', 'cpu', '--target-layers',
                         'backbone', 'neck.out_layers[1]', '--out-dir', tmp_path / 'demo')
    assert code == 0
    built = ModelRunner(TINY_CONFIG, tiny_checkpoint, 'cpu')
    runner = StubRunner(built.model.train(), built.cfg, ('a', 'b', 'c'))  # a training model, in train mode
    hook = FeatmapVisHook(images=[image], target_layers=['backbone', 'neck.out_layers[1]'])
    hook.after_val_epoch(runner)
    (name, picture, _), = runner.images
    write_rgb(str(tmp_path / 'hook.jpg'), picture)
    assert name == 'featmap_scene'
    assert (tmp_path / 'hook.jpg').read_bytes() == (tmp_path / 'demo' / 'scene.jpg').read_bytes()
    assert built.model.training


def test_a_picture_that_cannot_be_drawn_is_logged_and_training_goes_on(tiny_runner, tmp_path, caplog):
    from conftest import make_image
    from mmyolo_vis.hooks.featmap import FeatmapVisHook
    runner = StubRunner(tiny_runner.model, tiny_runner.cfg, ('a', 'b', 'c'))
    thin = make_image(tmp_path / 'thin.png', 4000, 1)  # the test pipeline would shrink it below one pixel
    hook = FeatmapVisHook(images=[thin, make_image(tmp_path / 'fine.jpg')])
    with caplog.at_level('WARNING', logger='stub'):
        hook.after_val_epoch(runner)
    assert [n for n, _, _ in runner.images] == ['featmap_fine'] and hook.failures == 1
    assert 'FeatmapVisHook: no picture featmap_thin at step 1 (4000x1 is too thin for the model' in caplog.text
