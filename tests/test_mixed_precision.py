"""Mixed precision: MMagic's ``--amp`` (AmpOptimWrapper for every optimizer) trains both stages;
on the CPU it autocasts to bfloat16. Validation and testing under autocast match fp32."""
import math
import runpy
import sys
from pathlib import Path

import mmagic
import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.amp import autocast
from torch import nn

from realbasicvsr_plugin.engine import AmpOptimWrapper
from realbasicvsr_plugin.models import load_checkpoint
from realbasicvsr_plugin.registry import MODELS, OPTIM_WRAPPERS

from tiny_training import CONFIGS, REPO, make_frames, tiny_config

TRAIN_PY = Path(mmagic.__file__).resolve().parent / '.mim' / 'tools' / 'train.py'
STAGE2_OFFLINE = (",\n                   perceptual_loss=dict(pretrained=None, "
                  "layer_weights={'2': 0.1, '7': 0.1}),\n"
                  "                   discriminator=dict(mid_channels=4)")


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('amp_data')
    return make_frames(root / 'train', clips=2, frames=2), \
        make_frames(root / 'val', clips=1, frames=3, lq_scale=4)


def train_py(monkeypatch, cfg, *args):
    """Run MMagic's tools/train.py in this process; return its runner and the autocast dtypes
    seen by the last convolution of each network while training."""
    seen = {'dtypes': {}}
    build = Runner.from_cfg.__func__

    def from_cfg(cls, config):
        runner = build(cls, config)
        for key in ('generator', 'discriminator'):
            net = getattr(runner.model, key, None)
            if net is None:
                continue
            conv = [m for m in net.modules() if isinstance(m, nn.Conv2d)][-1]

            def record(module, inputs, output, key=key):
                if module.training:
                    seen['dtypes'].setdefault(key, set()).add(output.dtype)

            conv.register_forward_hook(record)
        seen['runner'] = runner
        return runner

    monkeypatch.setattr(Runner, 'from_cfg', classmethod(from_cfg))
    monkeypatch.setattr(sys, 'argv', [str(TRAIN_PY), str(cfg), *map(str, args)])
    runpy.run_path(str(TRAIN_PY), run_name='__main__')
    return seen['runner'], seen['dtypes']


@pytest.mark.parametrize('stage', ['stage1', 'stage2'])
def test_amp_flag_trains_both_stages_in_bfloat16_on_the_cpu(tmp_path, data, monkeypatch, stage):
    extra = STAGE2_OFFLINE if stage == 'stage2' else ''
    cfg = tmp_path / f'tiny_{stage}.py'
    cfg.write_text(tiny_config(CONFIGS / f'realbasicvsr_{stage}.py', *data, tmp_path / 'work',
                               max_iters=2, val_interval=100, model_extra=extra))
    runner, dtypes = train_py(monkeypatch, cfg, '--amp')
    keys = ('generator', 'discriminator') if stage == 'stage2' else ('generator', )
    for key in keys:
        wrapper = runner.optim_wrapper[key]
        assert isinstance(wrapper, AmpOptimWrapper) and wrapper.cast_dtype == torch.bfloat16
        assert dtypes[key] == {torch.bfloat16}, (key, dtypes)
    assert runner.iter == 2
    logged = runner.message_hub.log_scalars
    losses = [k for k in logged if k.startswith('train/loss')]
    assert losses and all(math.isfinite(logged[k].current()) for k in losses)
    # the weights stay float32 (autocast casts the operations, not the parameters)
    assert all(p.dtype == torch.float32 for p in runner.model.parameters())


def test_on_the_cpu_only_bfloat16_is_accepted():
    optimizer = dict(type='Adam', lr=1e-3)
    net = nn.Linear(2, 2)
    with pytest.raises(ValueError, match='dtype must be bfloat16'):
        OPTIM_WRAPPERS.build(dict(type='AmpOptimWrapper', dtype='float16',
                                  optimizer=torch.optim.Adam(net.parameters())))
    wrapper = OPTIM_WRAPPERS.build(dict(type='AmpOptimWrapper', loss_scale='dynamic',
                                        optimizer=torch.optim.Adam(net.parameters())))
    assert type(wrapper) is AmpOptimWrapper and optimizer
    with wrapper.optim_context(net):
        out = net(torch.ones(1, 2))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
    state = wrapper.state_dict()
    wrapper.load_state_dict(state)  # checkpoints save and resume it


# Measured on the demo model (a trained RealBasicVSR, 32 channels), 3 frames of 48x64:
# bfloat16 autocast against float32, on the 0-255 output scale. See the README's training section.
MAX_ABS_TOLERANCE = 12.0
PSNR_TOLERANCE = 30.0


def demo_editor():
    model = MODELS.build(dict(
        type='RealBasicVSR',
        generator=dict(type='RealBasicVSRNet', mid_channels=32, num_propagation_blocks=4,
                       num_cleaning_blocks=4, is_fix_spynet=False, min_size=32,
                       dynamic_refine_thres=5.0),
        pixel_loss=dict(type='L1Loss'), is_use_ema=True,
        data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3)))
    load_checkpoint(model.generator_ema, REPO / 'realbasicvsr_plugin' / 'weights' /
                    'realbasicvsr_demo.pth')
    return model.eval()


def test_testing_under_autocast_matches_fp32_within_the_measured_tolerance(data):
    model = demo_editor()
    _, val_root = data
    import cv2
    frames = [cv2.imread(str(p))[..., ::-1].copy()
              for p in sorted((val_root / 'LQ' / '000').iterdir())]
    inputs = torch.from_numpy(__import__('numpy').stack(frames)).permute(0, 3, 1, 2).float()
    batch = dict(inputs=[inputs], data_samples=None)
    with torch.no_grad():
        fp32 = model.generator_ema(inputs[None] / 255.)
        with autocast(enabled=True):  # what MMagic's loops do with fp16=True
            half = model.generator_ema(inputs[None] / 255.)
    assert half.dtype == torch.bfloat16
    diff = (half.float() - fp32).abs() * 255
    mse = float((diff ** 2).mean())
    psnr = 10 * math.log10(255 ** 2 / mse)
    assert float(diff.max()) < MAX_ABS_TOLERANCE and psnr > PSNR_TOLERANCE, (diff.max(), psnr)
    assert batch
