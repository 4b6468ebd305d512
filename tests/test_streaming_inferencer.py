"""StreamingInferencer: leaves the caller's model as it was, takes 8- and 16-bit frames, works
with any model, and hands HR frames on as the network produces them."""
import numpy as np
import torch
from mmagic.models.editors.real_basicvsr.real_basicvsr_net import \
    RealBasicVSRNet as MMagicNet
from torch import nn

from realbasicvsr_plugin.apis import StreamingInferencer
from test_inference_utils import moving_frames, tiny_net


def restore(model, frames, **kwargs):
    kwargs.setdefault('device', 'cpu')
    inf = StreamingInferencer(model, **kwargs)
    return torch.stack(list(inf.restore(iter(frames)))), inf


def test_the_callers_model_is_left_as_it_was():
    # a model in training mode, NCHW weights (MMagic's), refinement at theta 255 / 3 passes
    net = tiny_net(seed=0)
    theirs = MMagicNet(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1,
                       dynamic_refine_thres=255)
    theirs.load_state_dict(net.state_dict())
    plugin_net = tiny_net(seed=0, dynamic_refine_thres=255).train()
    frames = moving_frames(t=3, h=32, w=32)
    for model, options in ((theirs, {}), (plugin_net, dict(dynamic_refine_thres=0, max_passes=2))):
        before = {k: (v.clone(), v.stride()) for k, v in model.state_dict().items()}
        theta = model.dynamic_refine_thres
        out, inf = restore(model, frames, **options)
        assert inf.model is not model and not inf.model.training
        assert model.training and model.dynamic_refine_thres == theta
        assert getattr(model, 'max_passes', 3) == 3
        for k, v in model.state_dict().items():
            assert torch.equal(v, before[k][0]) and v.stride() == before[k][1], k
    # the copy ran with the requested settings: 2 passes per frame
    assert inf.mean_passes() == 2


def test_a_model_as_needed_is_used_directly():
    net = tiny_net(seed=0)  # eval, on the CPU, NHWC weights by construction
    _, inf = restore(net, moving_frames(t=2, h=32, w=32))
    assert inf.model is net


def test_16_bit_frames_give_the_8_bit_result():
    net = tiny_net(seed=0)
    frames = moving_frames(t=3, h=32, w=32)
    out8, _ = restore(net, frames, max_seq_len=0)
    out16, _ = restore(net, [f.astype(np.uint16) * 257 for f in frames], max_seq_len=0)
    assert out8.dtype == out16.dtype == torch.float32
    assert (out8 - out16).abs().max() <= 1e-5


class Bilinear(nn.Module):
    """A model with none of the network's extras: no stream, no scale, no refinement."""

    def forward(self, lqs):
        n, t, c, h, w = lqs.shape
        out = nn.functional.interpolate(lqs.flatten(0, 1), scale_factor=4, mode='bilinear')
        return out.view(n, t, c, 4 * h, 4 * w)


def test_any_model_works_and_the_network_hands_frames_on_as_produced(monkeypatch):
    frames = moving_frames(t=5, h=16, w=16)
    out, inf = restore(Bilinear(), frames, max_seq_len=4, overlap=1)
    assert out.shape == (5, 3, 64, 64) and inf.scale == 4 and inf.mean_passes() is None
    # the plugin's network: the first restored frame comes out before the network has made
    # the second one of its chunk
    net = tiny_net(seed=0)
    made = []
    upsample = type(net.basicvsr).upsample
    monkeypatch.setattr(type(net.basicvsr), 'upsample',
                        lambda self, feat, lr: made.append(1) or upsample(self, feat, lr))
    stream = StreamingInferencer(net, device='cpu', max_seq_len=4, overlap=0).restore(
        iter(moving_frames(t=4, h=32, w=32)))
    next(stream)
    assert len(made) == 1
    assert len(list(stream)) == 3 and len(made) == 4
