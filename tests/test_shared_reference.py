"""The real COCO YOLOv5-n on the real photo (../shared/data), through the feature-map demo."""
import re

import cv2
import numpy as np

from conftest import SHARED, requires_shared

CONFIG = 'mmyolo::yolov5/yolov5_n-v61_syncbn_fast_8xb16-300e_coco.py'


def expected_detections():
    rows = re.findall(r'^\| (\w+) \| ([\d.]+) \| (\d+), (\d+), (\d+), (\d+) \|$',
                      (SHARED / 'README.md').read_text(), re.M)
    return [(name, float(score), tuple(map(float, box))) for name, score, *box in rows]


@requires_shared
def test_dog_detections_and_six_panels(tmp_path, capsys):
    from mmyolo_vis.featmaps.demo import FeatmapDemo
    from mmyolo_vis.apps.featmap import cli
    from mmyolo_vis.core.images import read_image
    from mmyolo_vis.models.detector import ModelRunner
    runner = ModelRunner(CONFIG, str(SHARED / 'yolov5_n-v61_coco.pth'), 'cpu')
    demo = FeatmapDemo(runner, ['backbone', 'neck'], 'select_max', score_thr=0.3)
    picture, maps, (boxes, labels, scores) = demo.run(read_image(str(SHARED / 'dog.jpg')))
    assert list(maps) == ['backbone[0]', 'backbone[1]', 'backbone[2]', 'neck[0]', 'neck[1]', 'neck[2]']
    expected = expected_detections()
    assert len(expected) == 5 and len(scores) == len(expected)
    got = sorted(zip(scores.tolist(), labels.tolist(), boxes.tolist()), reverse=True)
    for (score, label, box), (name, exp_score, exp_box) in zip(got, expected):
        assert runner.classes[label] == name
        assert abs(score - exp_score) < 0.01
        assert np.allclose(box, exp_box, atol=2), (name, box, exp_box)
    # the script writes one picture of 2 rows x 3 columns of titled 768x576 panels
    code = cli([str(SHARED / 'dog.jpg'), CONFIG, str(SHARED / 'yolov5_n-v61_coco.pth'), '--device', 'cpu',
                '--target-layers', 'backbone', 'neck', '--channel-reduction', 'select_max',
                '--out-dir', str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    pic = cv2.imread(str(tmp_path / 'dog.jpg'))
    assert pic.shape[:2] == (2 * (576 + 26 + 6) + 6, 3 * (768 + 6) + 6)
