"""What the class maps of the shipped demo classifiers mean, measured against generated ground truth."""
import numpy as np
import pytest

from conftest import ROOT

CNN = (str(ROOT / 'configs/classifiers/resnet18_tiny_shapes.py'), str(ROOT / 'checkpoints/resnet18_tiny_shapes.pth'))
VIT = (str(ROOT / 'configs/classifiers/vit_tiny_shapes.py'), str(ROOT / 'checkpoints/vit_tiny_shapes.pth'))


@pytest.fixture(scope='module')
def cnn():
    from mmyolo_vis.models.classifier import ClassifierRunner
    return ClassifierRunner(*CNN, 'cpu')


@pytest.fixture(scope='module')
def vit():
    from mmyolo_vis.models.classifier import ClassifierRunner
    return ClassifierRunner(*VIT, 'cpu')


@pytest.fixture(scope='module')
def val_split(tmp_path_factory):
    """The val split as make_shapes_cls_dataset.py writes it (same seed), 200 pictures."""
    from mmyolo_vis.classification.eval import load_split
    from mmyolo_vis.datasets.shapes import generate_classification_split
    root = tmp_path_factory.mktemp('shapes_cls')
    generate_classification_split(root, 'val', 200, seed=12)
    return load_split(str(root), 'val')


def two_shape_scenes(n=8):
    """96x96 scenes with two different shapes each: (image, [(label name index in CLASSES, box), ...])."""
    from mmyolo_vis.datasets.shapes import CLASSES, render_classification_image
    rng = np.random.default_rng(2024)
    scenes = []
    for _ in range(n):
        a, b = rng.choice(len(CLASSES), 2, replace=False)
        img, objs = render_classification_image(rng, 96, [int(a), int(b)], 0.3, 0.38, clutter=2)
        scenes.append((img, [(CLASSES[o.label], o.bbox_xyxy) for o in objs]))
    return scenes


# The maps come from 8x8 grids (CNN: the last stage at stride 8; ViT: 8x8 patches) over the 64-px crop of a
# 96-px scene resized to 72: a cell covers 8 * 96 / 72 = 10.7 original pixels. A peak counts as inside a box
# up to half a cell beyond its edge (the map cannot place it finer).
HALF_CELL = 8 * 96 / 72 / 2


def inside(cam, box, tolerance=HALF_CELL):
    y, x = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return box[0] - tolerance <= x <= box[2] + tolerance and box[1] - tolerance <= y <= box[3] + tolerance


def test_shipped_classifiers_are_accurate(cnn, vit, val_split):
    from mmyolo_vis.classification.eval import accuracy
    assert set(cnn.classes) == set(vit.classes) == {'circle', 'square', 'star', 'triangle'}
    assert accuracy(cnn, val_split) >= 0.95
    assert accuracy(vit, val_split) >= 0.90


# The share of the 16 class maps of 8 two-shape scenes whose maximum lies on their own shape, per layer (None:
# the default). On the CNN's last block output, the default since issue 20, every map does, with Grad-CAM,
# LayerCAM and HiResCAM (32 of 32 on 16 scenes). At the block's last norm layer bn2 (MMClassification's
# default) Grad-CAM's 14 do and LayerCAM's 10 (HiResCAM 14): bn2 is the residual branch before
# ``out += identity``; the head pools relu(bn2 + identity), and the part of the class evidence that the identity
# (the previous block's output) carries is in no map made at bn2. (Captured as pytorch-grad-cam keeps it, bn2's
# "activations" were the block output, as in MMClassification: the add is in place; see keep_outputs_intact.)
# The ViT at its default, backbone.layers[-1].ln1: LayerCAM and HiResCAM are required to hold (14 and 13 of
# 16); Grad-CAM holds for 11 of 16 and is not required to: the maps that miss are as often those of the class
# the ViT is sure of (p 0.99) as of the other, and earlier layers do worse (layers[2].ln1: 8 of 16). Why:
# test_vit_gradcam_does_not_follow_the_class_token. Retraining did not help: fine-tuned with CutMix 16 of 32
# (on 16 scenes; as shipped 19 of 32), with sigmoid losses 20 of 32, trained with 3000 two-shape scenes at
# 0.5 / 0.5 soft labels 13 of 32. The README's table is this one.
HITS = {('cnn', 'gradcam', None): 1.0, ('cnn', 'layercam', None): 1.0, ('cnn', 'hirescam', None): 1.0,
        ('cnn', 'gradcam', 'backbone.layer4.1.bn2'): 0.85, ('cnn', 'layercam', 'backbone.layer4.1.bn2'): 0.6,
        ('cnn', 'hirescam', 'backbone.layer4.1.bn2'): 0.85,
        ('vit', 'gradcam', None): 0.65, ('vit', 'layercam', None): 0.85, ('vit', 'hirescam', None): 0.8}


@pytest.mark.parametrize('model, method, layer', list(HITS))
def test_each_class_map_peaks_on_its_own_shape(request, model, method, layer):
    from mmyolo_vis.classification.cam import ClassifierCAM
    runner = request.getfixturevalue(model)
    cam = ClassifierCAM(runner, method, [layer] if layer else None, vit_like=model == 'vit' or None)
    hits = total = 0
    for image, objects in two_shape_scenes():
        categories = [runner.classes.index(name) for name, _ in objects]
        maps = cam.run(image, categories)
        for m, (_, box) in zip(maps, objects):
            hits += inside(m.cam, box)
            total += 1
    assert hits >= HITS[model, method, layer] * total, f'{hits}/{total}'


@pytest.mark.parametrize('model, method, goal', [('cnn', 'gradcam', 0.9), ('vit', 'gradcam', 0.8)])
def test_pointing_game_on_the_val_split(request, val_split, model, method, goal):
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.classification.eval import evaluate
    result = evaluate(ClassifierCAM(request.getfixturevalue(model), method), val_split, tolerance=15)
    assert result['pointing_game'] >= goal, result


@pytest.mark.parametrize('model', ['cnn', 'vit'])
def test_every_method_on_the_shipped_models(request, model):
    from mmyolo_vis.classification.methods import METHODS
    from mmyolo_vis.classification.cam import ClassifierCAM
    runner = request.getfixturevalue(model)
    image, objects = two_shape_scenes(1)[0]
    for method in METHODS:
        maps = ClassifierCAM(runner, method, batch_size=128).run(image, [0, 1, 2, 3])
        assert len(maps) == 4
        for m in maps:
            assert m.cam.shape == (96, 96) and np.isfinite(m.cam).all() and 0 <= m.cam.min() <= m.cam.max() <= 1


def _last_block_class_attention(runner, image):
    """The class token's attention over the 8x8 patch tokens in the ViT's last block (mean over heads)."""
    import torch
    block = runner.model.backbone.layers[-1]
    kept = {}
    handle = block.ln1.register_forward_hook(lambda m, i, o: kept.__setitem__('x', o.detach()))
    try:
        with torch.no_grad():
            runner.probabilities(runner.prepare(image)[0])
    finally:
        handle.remove()
    x, attn = kept['x'], block.attn
    b, n, c = x.shape
    with torch.no_grad():
        q, k, _ = attn.qkv(x).reshape(b, n, 3, attn.num_heads, c // attn.num_heads).permute(2, 0, 3, 1, 4)
        weights = ((q @ k.transpose(-2, -1)) * (c // attn.num_heads) ** -0.5).softmax(-1)
    return weights[0, :, 0, 1:].mean(0).reshape(8, 8).numpy()


def test_vit_gradcam_does_not_follow_the_class_token(vit, monkeypatch):
    """Why the ViT's Grad-CAM misses on two-shape scenes (HITS above), measured: the model looks at the shapes
    (its class token's last attention peaks on one of them in every scene) but Grad-CAM's map hardly depends
    on where the class token looks. At backbone.layers[-1].ln1 a patch token reaches the logit only through
    the class token's attention: its gradient is (attention to it) x (a vector common to all tokens) along
    the value path. Grad-CAM averages the gradient over tokens, which sums the attention away, so its map is
    relu(token . common vector): how class-like each token's value is, wherever the class token looks.
    Methods that weight each token by its own gradient (HiResCAM, LayerCAM) keep the attention."""
    import torch
    from mmyolo_vis.classification.cam import ClassifierCAM
    centres = (np.arange(8) * 8 + 8) * 96 / 72  # patch centres in the 96-px scene (resize 72, crop 64)
    attn = vit.model.backbone.layers[-1].attn
    real = attn.scaled_dot_product_attention

    def uniform_class_token(q, k, v, dropout_p=0.0):  # the class token reads every token alike
        out = real(q, k, v, dropout_p=dropout_p)
        return torch.cat([v.mean(dim=2, keepdim=True), out[:, :, 1:]], dim=2)

    on_a_shape, correlation = 0, {'gradcam': [], 'hirescam': []}
    for image, objects in two_shape_scenes():
        weights = _last_block_class_attention(vit, image)
        iy, ix = np.unravel_index(int(np.argmax(weights)), weights.shape)
        on_a_shape += any(b[0] - HALF_CELL <= centres[ix] <= b[2] + HALF_CELL
                          and b[1] - HALF_CELL <= centres[iy] <= b[3] + HALF_CELL for _, b in objects)
        categories = [vit.classes.index(name) for name, _ in objects]
        for method, values in correlation.items():
            as_trained = ClassifierCAM(vit, method, vit_like=True).run(image, categories)
            monkeypatch.setattr(attn, 'scaled_dot_product_attention', uniform_class_token)
            uniform = ClassifierCAM(vit, method, vit_like=True).run(image, categories)
            monkeypatch.setattr(attn, 'scaled_dot_product_attention', real)
            values += [np.corrcoef(a.cam.ravel(), u.cam.ravel())[0, 1] for a, u in zip(as_trained, uniform)]
    assert on_a_shape == 8
    # Measured: Grad-CAM median 0.95, HiResCAM 0.56 (LayerCAM 0.53).
    assert np.median(correlation['gradcam']) >= 0.9, correlation
    assert np.median(correlation['hirescam']) <= 0.7, correlation


def test_a_second_cam_on_the_same_model_sees_the_layer_itself():
    """MMClassification's default CNN layer, bn2, is followed by the in-place residual add: each CAM's hooks
    must see bn2's output before the copy that goes on is made. A CAM built after another on the same
    model (a method grid, eval_cls_cam.py) once registered its hooks after the copying hook and so kept the
    block output, not bn2's: its maps differed by up to 0.99 from those of the same CAM built alone."""
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.models.classifier import ClassifierRunner
    image, objects = two_shape_scenes(1)[0]
    shared = ClassifierRunner(*CNN, 'cpu')
    ClassifierCAM(shared, 'gradcam').run(image, [0])
    second = ClassifierCAM(shared, 'layercam').run(image, [0, 1, 2, 3])
    alone = ClassifierCAM(ClassifierRunner(*CNN, 'cpu'), 'layercam').run(image, [0, 1, 2, 3])
    for s, a in zip(second, alone):
        assert np.abs(s.cam - a.cam).max() < 1e-5


@pytest.mark.parametrize('model', ['cnn', 'vit'])
def test_ablation_reruns_only_what_follows_the_layer(request, model, capfd):
    """AblationCAM on a classifier: the network runs once on the picture, the target layer's output becomes
    the batch of ablated copies and one sweep scores every class. Its maps equal pytorch-grad-cam's
    whole-network reruns (one per batch of channels and per class), and no progress bar is printed."""
    from mmyolo_vis.classification.cam import ClassifierCAM
    runner = request.getfixturevalue(model)
    image, _ = two_shape_scenes(1)[0]
    fast = ClassifierCAM(runner, 'ablationcam')
    maps = fast.run(image, [0, 1, 2, 3])
    assert list(fast.cam._expands_after.values()) == [True]
    whole = ClassifierCAM(runner, 'ablationcam')
    whole.cam._expands_after = {id(layer): False for layer in whole.cam.target_layers}
    reference = whole.run(image, [0, 1, 2, 3])
    for m, r in zip(maps, reference):
        assert np.abs(m.cam - r.cam).max() < 1e-3 and m.cam.max() > 0.9  # not blank
    assert '%|' not in capfd.readouterr().err


def test_readme_scene_is_reproducible_and_its_maps_find_both_shapes(cnn, tmp_path):
    """demo/shapes_two.jpg (the README's vis_cam picture) comes from make_shapes_cls_dataset.py --scene, byte
    for byte; on it the CNN is sure of the circle, and each method of the README grid puts each class's
    maximum on its own shape."""
    import json
    import sys
    from mmyolo_vis.classification.cam import ClassifierCAM
    from mmyolo_vis.core.images import read_image
    sys.path.insert(0, str(ROOT / 'tools/dataset_converters'))
    from make_shapes_cls_dataset import main
    assert main(['--scene', str(tmp_path / 'two.jpg'), '--classes', 'circle', 'star', '--seed', '61']) == 0
    assert (tmp_path / 'two.jpg').read_bytes() == (ROOT / 'demo/shapes_two.jpg').read_bytes()
    ann = json.loads((ROOT / 'demo/shapes_two.json').read_text())
    names = {c['id']: c['name'] for c in ann['categories']}
    boxes = {names[a['category_id']]: [a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                                       a['bbox'][1] + a['bbox'][3]] for a in ann['annotations']}
    image = read_image(str(ROOT / 'demo/shapes_two.jpg'))
    categories = [cnn.classes.index('circle'), cnn.classes.index('star')]
    for method in ('gradcam', 'gradcam++', 'layercam', 'hirescam', 'eigengradcam'):
        maps = ClassifierCAM(cnn, method).run(image, categories)
        assert maps[0].probability > 0.9
        for m in maps:
            assert inside(m.cam, boxes[m.name], tolerance=8), (method, m.name)
