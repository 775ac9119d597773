"""Which target layers explain a DETR's boxes better (issue 21): the multi-scale maps that enter the transformer
encoder (the neck outputs: all three, or only the finest) or the encoder's output tokens as per-level grids
(``--target-layers encoder``),
measured on the trained demo DINO with the pointing game and energy-in-box of ``detection.eval``, on generated
shapes scenes. The shipped default for DETR kinds (``kinds.default_target_layers``) must be the winner."""
import numpy as np
import pytest

from conftest import ROOT

SETS = {
    'finest': ['neck.convs.0'],  # the finest map entering the encoder (stride 16)
    'neck': ['neck.convs.0', 'neck.convs.1', 'neck.extra_convs.0'],  # the demo DINO's three levels
    'encoder': ['encoder'],
}


@pytest.fixture(scope='module')
def runner():
    from mmyolo_vis.models.detector import ModelRunner
    return ModelRunner(str(ROOT / 'configs/dino/dino-3scale_r18tiny_shapes.py'),
                       str(ROOT / 'checkpoints/dino-3scale_r18tiny_shapes.pth'), 'cpu')


@pytest.fixture(scope='module')
def scenes():
    """Three 320x320 scenes (the model's scale) of five shapes 32-110 px, little clutter, little overlap."""
    from mmyolo_vis.datasets.shapes import render_scene
    rng = np.random.default_rng(0)
    return [render_scene(rng, 320, 320, 5, 32, 110, clutter=3, max_overlap=0.1) for _ in range(3)]


def measure(runner, scenes, method, layers) -> dict:
    from mmyolo_vis.detection.boxam import BoxAM
    from mmyolo_vis.detection.eval import score_boxes, summarise
    boxam = BoxAM(runner, method, layers, score_thr=0.5, topk=-1)
    rows = []
    try:
        for img, objects in scenes:
            res = boxam.run(img)
            rows += score_boxes(res.maps, res.boxes, res.labels, np.array([o.bbox_xyxy for o in objects]),
                                np.array([o.label for o in objects]))
    finally:
        boxam.close()
    return summarise(method, ' '.join(layers), rows)


def test_default_detr_target_layers_explain_the_boxes_better(runner, scenes):
    from mmyolo_vis.detection.kinds import default_target_layers
    methods = ('hirescam', 'layercam')
    table = {(m, name): measure(runner, scenes, m, layers) for m in methods for name, layers in SETS.items()}
    figures = '; '.join(f'{m} {name}: {r["boxes"]} boxes, pointing {r["pointing_game"]:.3f}, '
                        f'energy {r["energy_in_box"]:.3f}' for (m, name), r in table.items())
    print(figures)  # pytest -s shows them
    assert all(r['boxes'] >= 10 for r in table.values()), figures
    pointing = {name: sum(table[m, name]['pointing_game'] for m in methods) for name in SETS}
    ranked = sorted(pointing, key=pointing.get, reverse=True)
    winner = ranked[0]
    assert pointing[winner] > pointing[ranked[1]], figures  # a winner, not a tie
    assert default_target_layers(runner.model) == SETS[winner], figures
    # the margins this choice rests on (hirescam + layercam pointing, summed over the two methods): the maps
    # entering the encoder beat its output tokens by >= 0.2; the finest of them beats all three by >= 0.1
    assert pointing['neck'] - pointing['encoder'] >= 0.2, figures
    assert pointing['finest'] - pointing['neck'] >= 0.1, figures
