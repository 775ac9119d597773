import pytest
import torch
import torch.nn as nn

from mmyolo_vis.models.capture import FeatureCapture, flatten_output
from mmyolo_vis.core.errors import UserError
from mmyolo_vis.models.layers import parse_layer_name, resolve_layer


class Pair(nn.Module):
    def forward(self, x):
        return x * 2, [x + 1, {'k': x - 1}]


def toy():
    m = nn.Module()
    m.backbone = nn.Module()
    m.backbone.stage4 = nn.Sequential(nn.Identity(), nn.ReLU(), nn.Tanh())
    m.neck = nn.Module()
    m.neck.out_layers = nn.ModuleList([nn.Identity(), nn.Sigmoid(), Pair()])
    return m


def test_parse_layer_name():
    assert parse_layer_name('backbone') == ['backbone']
    assert parse_layer_name('neck.out_layers[2]') == ['neck', 'out_layers', 2]
    assert parse_layer_name('backbone.stage4[-1]') == ['backbone', 'stage4', -1]
    assert parse_layer_name('backbone.stage4.2') == ['backbone', 'stage4', '2']
    for bad in ['', 'backbone..stage4', '__import__("os")', 'neck.out_layers[x]', 'a; b', ' backbone']:
        with pytest.raises(UserError, match='bad layer name'):
            parse_layer_name(bad)


def test_resolve_layer_indices_and_names():
    m = toy()
    assert resolve_layer(m, 'backbone.stage4[-1]') == (m.backbone.stage4[2], 'backbone.stage4.2')
    assert resolve_layer(m, 'backbone.stage4.1') == (m.backbone.stage4[1], 'backbone.stage4.1')
    assert resolve_layer(m, 'neck.out_layers[2]')[0] is m.neck.out_layers[2]
    with pytest.raises(UserError, match=r"index 3 is out of range, neck.out_layers has 3 children"):
        resolve_layer(m, 'neck.out_layers[3]')


def test_unknown_layer_lists_closest_names():
    with pytest.raises(UserError) as e:
        resolve_layer(toy(), 'backbone.stag4')
    assert "unknown layer 'backbone.stag4'" in str(e.value)
    assert 'backbone.stage4' in str(e.value)


def test_flatten_output_nested():
    x = torch.ones(1)
    out = flatten_output((x, [x + 1, {'k': x + 2}]))
    assert [float(t) for t in out] == [1.0, 2.0, 3.0]


def test_capture_flattens_and_always_removes_hooks():
    m = toy()
    x = torch.full((1, 2), 3.0)
    cap = FeatureCapture(m, ['neck.out_layers[2]', 'backbone.stage4[0]'])
    with cap:
        m.neck.out_layers[2](x)
        m.backbone.stage4(x)
    assert list(cap.maps) == ['neck.out_layers[2][0]', 'neck.out_layers[2][1]', 'neck.out_layers[2][2]',
                              'backbone.stage4[0]']
    assert [float(v[0, 0]) for v in cap.maps.values()] == [6.0, 4.0, 2.0, 3.0]
    assert not m.neck.out_layers[2]._forward_hooks
    with pytest.raises(RuntimeError):
        with FeatureCapture(m, ['backbone.stage4[1]']):
            raise RuntimeError('boom')
    assert not m.backbone.stage4[1]._forward_hooks
