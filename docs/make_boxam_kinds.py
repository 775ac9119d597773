"""Makes docs/boxam_kinds.jpg: the hirescam box map of one object of demo/demo_scene.jpg (its top circle) on the
shipped detector of each kind (YOLO, dense, two-stage, DETR), as boxam_vis_demo.py --per-box draws it.

    .venv/bin/python docs/make_boxam_kinds.py        # ~30 s on 2 CPU cores
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = [  # (title, config, checkpoint)
    ('YOLO: YOLOv5-n', 'configs/yolov5/yolov5_n_shapes.py', 'checkpoints/yolov5_n_shapes.pth'),
    ('dense: FCOS', 'configs/fcos/fcos_r18tiny_shapes.py', 'checkpoints/fcos_r18tiny_shapes.pth'),
    ('two-stage: Faster R-CNN', 'configs/faster_rcnn/faster-rcnn_r18tiny_shapes.py',
     'checkpoints/faster-rcnn_r18tiny_shapes.pth'),
    ('DETR: DINO', 'configs/dino/dino-3scale_r18tiny_shapes.py', 'checkpoints/dino-3scale_r18tiny_shapes.pth'),
]


def titled(image, title, width=480, height=360):
    import cv2
    import numpy as np
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    bar = np.full((30, width, 3), 255, np.uint8)
    cv2.putText(bar, title, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (0, 0, 0), 2, cv2.LINE_AA)
    return np.vstack([bar, image])


def main():
    import tempfile

    import cv2
    import numpy as np

    from mmyolo_vis.apps.boxam import main as boxam_main
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (title, config, checkpoint) in enumerate(MODELS):
            out = Path(tmp) / str(k)
            code = boxam_main([str(ROOT / 'demo/demo_scene.jpg'), str(ROOT / config), str(ROOT / checkpoint),
                               '--device', 'cpu', '--method', 'hirescam', '--topk', '3', '--classes', 'circle',
                               '--per-box', '--out-dir', str(out)])
            if code:
                sys.exit(f'boxam_vis_demo failed on {config} (exit {code})')
            # the best circle: every model's best circle here is the one at the top right
            tiles.append(titled(cv2.imread(str(sorted(out.glob('demo_scene_box0_*.jpg'))[0])), title))
    picture = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    cv2.imwrite(str(ROOT / 'docs/boxam_kinds.jpg'), picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print('wrote docs/boxam_kinds.jpg')


if __name__ == '__main__':
    main()
