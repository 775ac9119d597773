"""publish_model.py: a training checkpoint -> tensors only plus class names; --half stores floats as float16."""
import torch


def test_publish_half_keeps_integers_and_names(tmp_path):
    from mmyolo_vis.apps.publish_model import main
    src, dst = tmp_path / 'epoch_2.pth', tmp_path / 'model.pth'
    w = torch.linspace(-1, 1, 12).reshape(3, 4)
    torch.save(dict(state_dict={'head.w': w, 'bn.num_batches_tracked': torch.tensor(7),
                                'data_preprocessor.mean': torch.zeros(3)},
                    meta=dict(dataset_meta=dict(classes=('a', 'b'), palette=[(1, 2, 3), (4, 5, 6)]), epoch=2),
                    optimizer={'state': {}}), src)
    assert main([str(src), str(dst), '--half']) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    sd = ckpt['state_dict']
    assert set(sd) == {'head.w', 'bn.num_batches_tracked'}
    assert sd['head.w'].dtype == torch.float16 and sd['bn.num_batches_tracked'].dtype == torch.int64
    assert torch.allclose(sd['head.w'].float(), w, atol=1e-3) and int(sd['bn.num_batches_tracked']) == 7
    assert ckpt['meta']['dataset_meta'] == dict(classes=['a', 'b'], palette=[[1, 2, 3], [4, 5, 6]])
    assert ckpt['meta']['epoch'] == 2
    # loading casts back into the model's float32 parameters
    lin = torch.nn.Linear(4, 3, bias=False)
    lin.load_state_dict({'weight': sd['head.w']})
    assert lin.weight.dtype == torch.float32 and torch.allclose(lin.weight, w, atol=1e-3)
