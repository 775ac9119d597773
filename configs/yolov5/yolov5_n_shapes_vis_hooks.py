# The shapes detector's training (yolov5_n_shapes.py) with maps of fixed pictures drawn as it trains:
# after every validation, the feature maps of the neck outputs and the Grad-CAM box maps of the first 4
# validation pictures, logged by the runner's visualizer to TensorBoard and to local files
# (work_dir/<timestamp>/vis_data: events.out.tfevents.* and vis_image/<tag>_<epoch>.png).
#   python tools/train.py configs/yolov5/yolov5_n_shapes_vis_hooks.py
#   tensorboard --logdir work_dirs/yolov5_n_shapes_vis_hooks
_base_ = './yolov5_n_shapes.py'

custom_imports = dict(imports=['mmyolo_vis.hooks.featmap', 'mmyolo_vis.hooks.boxam'], allow_failed_imports=False)
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='FeatmapVisHook', target_layers=['neck'], num_images=4, event='val', interval=1),
    dict(type='BoxAMVisHook', method='gradcam', num_images=4, event='val', interval=1),
]
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(vis_backends=vis_backends)
