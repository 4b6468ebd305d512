"""Mixed precision: MMagic's ``--amp`` (AmpOptimWrapper for every optimizer) trains both stages;
on the CPU it autocasts to bfloat16. Validation and testing under autocast match fp32."""
import math
import runpy
import sys
from pathlib import Path

import mmagic
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch import nn

from realbasicvsr_plugin.engine import AmpOptimWrapper
from realbasicvsr_plugin.registry import OPTIM_WRAPPERS

from tiny_training import CONFIGS, REPO, STAGE2_OFFLINE, make_frames, tiny_config

TRAIN_PY = Path(mmagic.__file__).resolve().parent / '.mim' / 'tools' / 'train.py'


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
    net = nn.Linear(2, 2)
    with pytest.raises(ValueError, match='dtype must be bfloat16'):
        OPTIM_WRAPPERS.build(dict(type='AmpOptimWrapper', dtype='float16',
                                  optimizer=torch.optim.Adam(net.parameters())))
    wrapper = OPTIM_WRAPPERS.build(dict(type='AmpOptimWrapper', loss_scale='dynamic',
                                        optimizer=torch.optim.Adam(net.parameters())))
    assert type(wrapper) is AmpOptimWrapper
    with wrapper.optim_context(net):
        out = net(torch.ones(1, 2))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
    state = wrapper.state_dict()
    wrapper.load_state_dict(state)  # checkpoints save and resume it


# bfloat16 autocast against float32, measured with the shipped demo model (a trained
# RealBasicVSR, 32 channels) on the CPU: 6 frames of the demo clip (96x128): outputs differ by at
# most 0.43 (mean 0.043) on the 0-255 scale, 72.8 dB PSNR between the two, the same passes per
# frame, NIQE 10.215 vs 10.238 (at most 0.17 on one frame). The tolerances leave room for other
# CPUs and clips.
MAX_ABS = 2.0      # 0-255 scale
MIN_PSNR = 60.0    # dB, bfloat16 output against float32 output
METRIC_ABS = 0.2   # NIQE of a video, PSNR (dB) and SSIM (x100) of the validation set

DEMO = dict(mid_channels=32, num_propagation_blocks=4, num_cleaning_blocks=4,
            is_fix_spynet=False, min_size=32)


def demo_checkpoint(tmp_path):
    """The demo model's weights as an editor checkpoint (generator and generator_ema)."""
    bare = torch.load(REPO / 'realbasicvsr_plugin' / 'weights' / 'realbasicvsr_demo.pth',
                      map_location='cpu', weights_only=True)['state_dict']
    state = {f'{key}.{k}': v for key in ('generator', 'generator_ema') for k, v in bare.items()}
    path = tmp_path / 'demo_editor.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path


def demo_clip_frames(root, videos=2, frames=3):
    """VideoLQ-layout folders cut from the shipped demo clip."""
    import av
    import cv2
    with av.open(str(REPO / 'realbasicvsr_plugin' / 'demo' / 'coffee_lq.mp4')) as c:
        decoded = [f.to_ndarray(format='bgr24') for _, f in zip(range(videos * frames),
                                                                 c.decode(video=0))]
    for v in range(videos):
        (root / f'{v:03d}').mkdir(parents=True)
        for i in range(frames):
            cv2.imwrite(str(root / f'{v:03d}' / f'{i:08d}.png'), decoded[v * frames + i])
    return root


def record_conv_dtypes(runner):
    """The dtypes out of the cleaning module's last convolution (called as a module also on the
    CPU inference path, which runs the upsampler's convolutions functionally)."""
    seen = set()
    conv = runner.model.generator_ema.image_cleaning[-1]
    assert isinstance(conv, nn.Conv2d)
    conv.register_forward_hook(lambda m, i, o: seen.add(o.dtype))
    return seen


def test_the_demo_model_under_autocast_matches_fp32_within_the_measured_tolerance(tmp_path):
    from mmengine.runner.amp import autocast
    from realbasicvsr_plugin.models import RealBasicVSRNet, load_checkpoint
    net = RealBasicVSRNet(dynamic_refine_thres=5.0, **DEMO)
    load_checkpoint(net, REPO / 'realbasicvsr_plugin' / 'weights' / 'realbasicvsr_demo.pth')
    root = demo_clip_frames(tmp_path / 'clip', videos=1, frames=6)
    import cv2
    import numpy as np
    frames = np.stack([cv2.imread(str(p))[..., ::-1] for p in sorted((root / '000').iterdir())])
    x = torch.from_numpy(frames.copy()).permute(0, 3, 1, 2).float()[None] / 255.
    with torch.no_grad():
        fp32 = net.eval()(x)
        passes = net.last_passes.clone()
        with autocast(enabled=True):  # what MMagic's loops do with fp16=True; bf16 on the CPU
            half = net(x)
    assert torch.equal(net.last_passes, passes)
    diff = (fp32.clamp(0, 1) - half.float().clamp(0, 1)).abs() * 255
    psnr = 10 * math.log10(255 ** 2 / float((diff ** 2).mean()))
    assert float(diff.max()) < MAX_ABS and psnr > MIN_PSNR, (float(diff.max()), psnr)
    assert float(diff.max()) > 0  # autocast did run in bfloat16


class Capture(Hook):
    """Keep the metrics of a loop (MMagic's loops return none)."""

    def __init__(self, into: dict) -> None:
        self.into = into

    def after_val_epoch(self, runner, metrics=None):
        self.into.update(metrics or {})

    after_test_epoch = after_val_epoch


def run_fp32_and_autocast(cfg, mode, tmp_path):
    """The metrics of the ``mode`` loop ('val' or 'test') without and with ``fp16=True``."""
    results = {}
    for fp16 in (False, True):
        cfg.work_dir = str(tmp_path / f'work_{mode}_{fp16}')
        cfg[f'{mode}_cfg'].fp16 = fp16
        runner = Runner.from_cfg(cfg)
        dtypes = record_conv_dtypes(runner)
        runner.register_hook(Capture(results.setdefault(fp16, {})), 'LOWEST')
        getattr(runner, mode)()
        assert dtypes == {torch.bfloat16 if fp16 else torch.float32}
    return results


def test_videolq_testing_under_autocast_matches_fp32(tmp_path):
    cfg = Config.fromfile(str(CONFIGS / 'realbasicvsr_x4_videolq.py'))
    cfg.merge_from_dict({f'model.generator.{k}': v for k, v in DEMO.items()})
    cfg.test_dataloader.dataset.data_root = str(demo_clip_frames(tmp_path / 'VideoLQ'))
    cfg.test_dataloader.num_workers = 0
    cfg.test_evaluator.metrics = [cfg.test_evaluator.metrics[0]]  # NIQE
    cfg.load_from = str(demo_checkpoint(tmp_path))
    results = run_fp32_and_autocast(cfg, 'test', tmp_path)
    assert set(results[True]) == set(results[False]) >= {'NIQE', 'NIQE/000', 'NIQE/001'}
    for key, value in results[False].items():
        assert results[True][key] == pytest.approx(value, abs=METRIC_ABS), key


def test_validation_under_autocast_matches_fp32(tmp_path, data):
    cfg_path = tmp_path / 'tiny_stage1.py'
    cfg_path.write_text(tiny_config(CONFIGS / 'realbasicvsr_stage1.py', *data, tmp_path / 'w'))
    cfg = Config.fromfile(str(cfg_path))
    cfg.merge_from_dict({f'model.generator.{k}': v for k, v in DEMO.items()})
    cfg.load_from = str(demo_checkpoint(tmp_path))
    metrics = run_fp32_and_autocast(cfg, 'val', tmp_path)
    assert metrics[True]['PSNR'] == pytest.approx(metrics[False]['PSNR'], abs=METRIC_ABS)
    assert metrics[True]['SSIM'] * 100 == pytest.approx(metrics[False]['SSIM'] * 100,
                                                         abs=METRIC_ABS)
