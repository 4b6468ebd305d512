"""Scene cuts: detected while decoding; chunks end at a cut, and the shot after it is restored as
if it were a clip of its own."""
import numpy as np
import pytest
import torch

from realbasicvsr_plugin.apis import InferenceError, StreamingInferencer
from realbasicvsr_plugin.apis.scene_cuts import (DEFAULT_THRESHOLD, SceneCutDetector,
                                                 parse_threshold)
from realbasicvsr_plugin.models import RealBasicVSRNet

from conftest import TINY_NET


def shot(t, seed, h=48, w=64, brightness=0.5):
    """A textured scene panning by 2 pixels per frame (uint8 RGB)."""
    g = np.random.default_rng(seed)
    scene = g.random((h, w + 2 * t, 3)) * 0.5 + (brightness - 0.25)
    scene = np.clip(scene, 0, 1)
    return [(scene[:, 2 * i:2 * i + w] * 255).round().astype(np.uint8) for i in range(t)]


def test_detector_finds_the_cut_and_not_the_motion():
    frames = shot(6, 1, brightness=0.3) + shot(5, 2, brightness=0.7)
    detector = SceneCutDetector()
    cuts = [i for i, f in enumerate(frames) if detector.is_cut(f)]
    assert cuts == [6]
    # 16-bit frames of the same pictures give the same answer
    detector = SceneCutDetector()
    assert [i for i, f in enumerate(frames) if detector.is_cut(f.astype(np.uint16) * 257)] == [6]


@pytest.mark.parametrize('value,expected', [(None, DEFAULT_THRESHOLD), ('off', None),
                                            ('OFF', None), ('0.25', 0.25), (1, 1.0),
                                            ('auto', DEFAULT_THRESHOLD)])
def test_threshold_setting(value, expected):
    assert parse_threshold(value) == expected


@pytest.mark.parametrize('value', ['abc', '0', '-1', '1.5', True])
def test_bad_threshold_is_one_line_naming_the_parameter(value):
    with pytest.raises(InferenceError, match=r"scene_cuts must be a threshold in \(0, 1\]") as e:
        parse_threshold(value)
    assert e.value.param == 'scene_cuts' and '\n' not in str(e.value)


def restore(net, frames, **kwargs):
    inf = StreamingInferencer(net, device='cpu', max_seq_len=8, overlap=2, **kwargs)
    return torch.stack(list(inf.restore(iter(frames)))), inf


def test_frames_after_a_cut_equal_the_network_on_the_post_cut_frames_alone():
    torch.manual_seed(0)
    net = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=None).eval()
    before, after = shot(6, 1, brightness=0.3), shot(5, 2, brightness=0.7)
    out, inf = restore(net, before + after)
    assert inf.scene_cuts == 1
    alone, _ = restore(net, after)
    assert (out[6:] - alone).abs().max() <= 1e-5
    first, _ = restore(net, before)
    assert (out[:6] - first).abs().max() <= 1e-5
    # with detection off the first frames after the cut carry the previous shot
    crossed, inf_off = restore(net, before + after, scene_cuts='off')
    assert inf_off.scene_cuts == 0
    assert (crossed[6:] - alone).abs().max() > 1e-3
