"""Training under MMagic's own launcher and MMEngine's runner, both stages, CPU, toy sizes."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from realbasicvsr_plugin.models import RealBasicVSRNet, load_checkpoint

from tiny_training import CONFIGS, REPO, STAGE2_OFFLINE, make_frames, tiny_config



@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    return make_frames(root / 'train', clips=2, frames=3), \
        make_frames(root / 'val', clips=1, frames=3, lq_scale=4)


def write_config(tmp_path, data, name='stage1', **kwargs):
    train_root, val_root = data
    text = tiny_config(CONFIGS / f'realbasicvsr_{name}.py', train_root, val_root,
                       tmp_path / 'work', **kwargs)
    path = tmp_path / f'tiny_{name}.py'
    path.write_text(text)
    return path


def test_mim_train_mmagic_runs_the_plugin_under_mmagics_launcher(tmp_path, data):
    cfg = write_config(tmp_path, data, max_iters=2, val_interval=2)
    mim = Path(sys.executable).with_name('mim')
    out = subprocess.run([str(mim), 'train', 'mmagic', str(cfg), '--gpus', '0', '-y'],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
    # the plugin's components ran: its cleaning loss and its hook's per-frame pass statistics
    assert 'loss_clean' in log
    assert 'dynamic refinement (val)' in log
    assert 'PSNR' in log


def build_runner(cfg_path, **overrides):
    cfg = Config.fromfile(str(cfg_path))
    cfg.merge_from_dict(overrides)
    cfg.launcher = 'none'
    return Runner.from_cfg(cfg)


def test_stage2_trains_generator_and_discriminator_with_cleaning_frozen(tmp_path, data):
    cfg = write_config(tmp_path, data, name='stage2', max_iters=2, val_interval=100,
                       model_extra=STAGE2_OFFLINE)
    runner = build_runner(cfg)
    model = runner.model
    assert model.generator.is_fix_cleaning
    cleaning = {k: v.clone() for k, v in model.generator.image_cleaning.state_dict().items()}
    upsampler = model.generator.basicvsr.conv_last.weight.clone()
    disc = next(model.discriminator.parameters()).clone()
    runner.train()
    after = model.generator.image_cleaning.state_dict()
    assert all(torch.equal(cleaning[k], after[k]) for k in cleaning)
    assert not torch.equal(upsampler, model.generator.basicvsr.conv_last.weight)
    assert not torch.equal(disc, next(model.discriminator.parameters()))
    logged = runner.message_hub.log_scalars
    for name in ('train/loss_pix', 'train/loss_perceptual', 'train/loss_gan',
                 'train/loss_d_real', 'train/loss_d_fake'):
        assert name in logged and torch.isfinite(torch.tensor(logged[name].current()))


def test_losses_fall_on_a_fixed_batch(tmp_path, data):
    cfg = write_config(tmp_path, data)
    runner = build_runner(cfg, optim_wrapper=dict(generator=dict(optimizer=dict(lr=2e-3))))
    model = runner.model
    optim = runner.build_optim_wrapper(runner.cfg.optim_wrapper)
    batch = next(iter(runner.build_dataloader(runner.cfg.train_dataloader)))
    history = []
    for _ in range(30):
        logs = model.train_step(batch, optim)
        history.append((float(logs['loss_pix']), float(logs['loss_clean'])))
    first, last = history[0], history[-1]
    assert all(torch.isfinite(torch.tensor(h)).all() for h in history)
    assert last[0] < 0.7 * first[0] and last[1] < 0.7 * first[1], history


def test_checkpoint_saves_reloads_and_resumes(tmp_path, data):
    cfg = write_config(tmp_path, data, max_iters=2, val_interval=100)
    build_runner(cfg).train()
    ckpt = tmp_path / 'work' / 'iter_2.pth'
    assert ckpt.is_file()
    # resume: MMEngine reads its own checkpoint (optimizer, message hub) through torch.load
    runner = build_runner(cfg, resume=True, train_cfg=dict(max_iters=3))
    runner.train()
    assert runner.iter == 3 and (tmp_path / 'work' / 'iter_3.pth').is_file()
    # the generator (EMA preferred) reloads into a bare network
    net = RealBasicVSRNet(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1)
    meta = load_checkpoint(net, tmp_path / 'work' / 'iter_3.pth')['meta']
    assert meta['iter'] == 3
    ema = runner.model.generator_ema.state_dict()
    assert all(torch.equal(v, ema[k]) for k, v in net.state_dict().items())
    gen = runner.model.generator.state_dict()
    assert not all(torch.equal(v, gen[k]) for k, v in net.state_dict().items())


def test_a_config_in_another_project_inherits_the_installed_stage2(tmp_path):
    import realbasicvsr_plugin
    other = tmp_path / 'other_project'
    other.mkdir()
    base = realbasicvsr_plugin.config_path('realbasicvsr_stage2.py')
    assert not str(base).startswith(str(other))
    (other / 'my_stage2.py').write_text(
        f'_base_ = {str(base)!r}\n'
        'train_dataloader = dict(batch_size=2)\n'
        '# offline: no SPyNet / VGG downloads in a test\n'
        'model = dict(generator=dict(spynet_pretrained=None, mid_channels=8,\n'
        '                            num_propagation_blocks=1, num_cleaning_blocks=1),\n'
        '             perceptual_loss=dict(pretrained=None))\n'
        f'work_dir = {str(tmp_path / "work")!r}\n')
    cfg = Config.fromfile(str(other / 'my_stage2.py'))
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.model.gan_loss.loss_weight == 5e-2 and cfg.model.generator.is_fix_cleaning
    cfg.launcher = 'none'
    runner = Runner.from_cfg(cfg)
    assert type(runner.model).__module__.startswith('realbasicvsr_plugin')
    assert runner.model.generator.is_fix_cleaning
