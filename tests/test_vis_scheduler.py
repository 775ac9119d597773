import csv
import math
import subprocess
import sys

from conftest import DATA, ROOT


def read_csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return rows


def test_closed_form_schedule_matches_formula(tmp_path):
    subprocess.run([sys.executable, str(ROOT / 'tools/analysis_tools/vis_scheduler.py'),
                    str(DATA / 'closed_form_schedule.py'), '--dataset-size', '400', '--out-dir', str(tmp_path),
                    '--not-show'], check=True, capture_output=True)
    rows = read_csv(tmp_path / 'closed_form_schedule_lr.csv')
    assert len(rows) == 1000  # 10 epochs x 400 / batch 4
    assert (tmp_path / 'closed_form_schedule_lr.png').stat().st_size > 10000

    def expected(i):
        if i < 100:  # MMEngine's LinearLR reaches the base value at end - 1
            return 0.1 * (0.01 + 0.99 * min(i, 99) / 99)
        return 0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * (i - 100) / 900)) / 2

    for i in [0, 1, 50, 99, 100, 101, 333, 550, 777, 999]:
        assert abs(float(rows[i]['lr_group0']) - expected(i)) < 1e-6, i
    assert rows[150]['epoch'] == '2'


def test_yolov5_hook_schedule_every_group(tmp_path):
    out = tmp_path / 'yolo.png'
    subprocess.run([sys.executable, str(ROOT / 'tools/analysis_tools/vis_scheduler.py'),
                    'mmyolo::yolov5/yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py', '--dataset-size', '1000',
                    '--ngpus', '1', '--save-path', str(out), '--not-show',
                    '--cfg-options', 'train_cfg.max_epochs=30', 'default_hooks.param_scheduler.max_epochs=30'],
                   check=True, capture_output=True)
    rows = read_csv(tmp_path / 'yolo.csv')
    assert len(rows) == 30 * 63  # ceil(1000 / 16) iterations per epoch
    groups = [k for k in rows[0] if k.startswith('lr_group')]
    assert len(groups) == 3
    warm = max(63 * 3, 1000)  # YOLOv5ParamSchedulerHook: max(3 epochs, 1000 iterations) of warm-up
    first, peak, last = rows[0], rows[warm - 1], rows[-1]
    # the bias group warms down from 0.1, the others up from 0
    assert sorted(float(first[g]) for g in groups) == [0.0, 0.0, 0.1]
    target = 0.01 * ((1 - 15 / 30) * 0.99 + 0.01)  # lr x linear factor at epoch 15 (iteration 999)
    start = {g: float(first[g]) for g in groups}
    for g in groups:
        assert abs(float(peak[g]) - (start[g] + (target - start[g]) * 999 / 1000)) < 1e-6
        # then linear decay: the hook sets each epoch's lr after the epoch before, so the last epoch
        # (index 29) runs at the factor of epoch 28
        assert abs(float(last[g]) - 0.01 * ((1 - 28 / 30) * 0.99 + 0.01)) < 1e-6
