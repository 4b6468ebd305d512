"""The hook switches generators to the test theta for val/test and restores the training value."""
import types

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger

from realbasicvsr_plugin.engine import DynamicRefinementHook
from realbasicvsr_plugin.models import RealBasicVSRNet

from conftest import TINY_NET


def fake_runner():
    model = torch.nn.Module()
    torch.manual_seed(0)
    model.generator = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=255)
    model.generator_ema = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=255)
    return types.SimpleNamespace(model=model, message_hub=MessageHub.get_current_instance(),
                                 logger=MMLogger.get_current_instance())


@pytest.mark.parametrize('mode', ['val', 'test'])
def test_switches_for_the_loop_and_restores_after(mode):
    runner = fake_runner()
    hook = DynamicRefinementHook(dynamic_refine_thres=0.0, max_passes=2)
    getattr(hook, f'before_{mode}_epoch')(runner)
    for key in ('generator', 'generator_ema'):
        net = getattr(runner.model, key)
        assert (net.dynamic_refine_thres, net.max_passes) == (0.0, 2)
    lqs = torch.rand(1, 3, 3, 64, 64)
    with torch.no_grad():
        runner.model.generator_ema(lqs)
    assert torch.all(runner.model.generator_ema.last_passes == 2)  # theta 0: every pass runs
    getattr(hook, f'after_{mode}_iter')(runner, 0)
    getattr(hook, f'after_{mode}_epoch')(runner)
    for key in ('generator', 'generator_ema'):
        net = getattr(runner.model, key)
        assert (net.dynamic_refine_thres, net.max_passes) == (255, 3)
    assert hook.last_summary == dict(mean=2.0, histogram={2: 3})
    assert runner.message_hub.get_scalar(f'{mode}/refine_passes_mean').current() == 2.0


def test_histogram_counts_frames_by_passes():
    runner = fake_runner()
    net = runner.model.generator_ema
    lqs = torch.rand(1, 4, 3, 64, 64)
    lqs[0, :2] = 0.5
    with torch.no_grad():
        first = net.image_cleaning(lqs[0]).abs().mean(dim=(1, 2, 3)) * 255
    hook = DynamicRefinementHook(dynamic_refine_thres=float(first.min() + first.max()) / 2, max_passes=3)
    hook.before_test_epoch(runner)
    with torch.no_grad():
        net(lqs)
    passes = net.last_passes.flatten().tolist()
    hook.after_test_iter(runner, 0)
    hook.after_test_epoch(runner)
    assert sum(hook.last_summary['histogram'].values()) == 4
    assert hook.last_summary['histogram'] == {p: passes.count(p) for p in set(passes)}
    assert len(hook.last_summary['histogram']) > 1


@pytest.mark.parametrize('kwargs', [dict(dynamic_refine_thres=-1), dict(max_passes=0)])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        DynamicRefinementHook(**kwargs)
