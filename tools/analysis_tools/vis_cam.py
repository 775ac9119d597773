"""Class activation maps of an MMPretrain image classifier, as MMClassification's vis_cam.py makes them:

    python tools/analysis_tools/vis_cam.py demo/shapes_two.jpg configs/classifiers/resnet18_tiny_shapes.py \
        checkpoints/resnet18_tiny_shapes.pth --method GradCAM --target-category circle star

One titled panel per target category (default: the predicted class, with its probability); ViT-like models
(--vit-like, on by default for transformer backbones) have their tokens arranged as a square grid.
"""
import sys

from mmyolo_vis.apps.vis_cam import cli

if __name__ == '__main__':
    sys.exit(cli())
