"""The shipped configs: the paper's settings, and a stage-1 pipeline that really produces L frames."""
import numpy as np
import pytest
from mmengine.config import Config

from realbasicvsr_plugin.registry import DATASETS

from tiny_training import CONFIGS, make_frames


def test_stage_configs_carry_the_papers_settings():
    s1 = Config.fromfile(str(CONFIGS / 'realbasicvsr_stage1.py'))
    s2 = Config.fromfile(str(CONFIGS / 'realbasicvsr_stage2.py'))
    g = s1.model.generator
    assert (g.mid_channels, g.num_cleaning_blocks, g.num_propagation_blocks, g.scale) == \
        (64, 20, 20, 4)
    assert s1.train_dataloader.batch_size == 16 and s2.train_dataloader.batch_size == 8
    assert s1.train_dataloader.dataset.num_input_frames == 15  # L = 30 after mirroring
    assert s1.model.pixel_loss.type == 'CharbonnierLoss'
    assert s1.model.cleaning_loss.type == 'realbasicvsr_plugin.CleaningLoss'
    assert s1.optim_wrapper.generator.optimizer.lr == 1e-4
    assert s1.train_cfg.max_iters == 300_000 and s2.train_cfg.max_iters == 150_000
    assert s2.model.generator.is_fix_cleaning and not g.is_fix_cleaning
    assert s2.model.perceptual_loss.perceptual_weight == 1.0
    assert s2.model.gan_loss.loss_weight == 5e-2
    assert s2.model.discriminator.type == 'UNetDiscriminatorWithSpectralNorm'
    assert s2.optim_wrapper.generator.optimizer.lr == 5e-5
    assert s2.optim_wrapper.discriminator.optimizer.lr == 1e-4
    hooks = {h.type: h for h in s1.custom_hooks}, {h.type: h for h in s2.custom_hooks}
    assert hooks[0]['DynamicRefinementHook'].test_thres == 1.5
    assert hooks[1]['DynamicRefinementHook'].test_thres == 5
    assert hooks[0]['ExponentialMovingAverageHook'].interp_cfg.momentum == 0.001


@pytest.mark.parametrize('num_input_frames', [3, 5])
def test_stage1_pipeline_mirrors_half_the_frames_into_degraded_lq_patches(tmp_path,
                                                                          num_input_frames):
    cfg = Config.fromfile(str(CONFIGS / 'realbasicvsr_stage1.py'))
    root = make_frames(tmp_path / 'clips', clips=1, frames=6, size=(256, 272))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(data_root=str(root), data_prefix=dict(img='', gt=''),
                  num_input_frames=num_input_frames)
    dataset = DATASETS.build(ds_cfg)
    np.random.seed(0)
    sample = dataset[0]
    lq, gt = sample['inputs'], sample['data_samples'].gt_img
    assert tuple(gt.shape) == (2 * num_input_frames, 3, 256, 256)
    assert tuple(lq.shape) == (2 * num_input_frames, 3, 64, 64)
    # GT is mirrored in time: frame i equals frame L-1-i
    assert all((gt[i] == gt[-1 - i]).all() for i in range(num_input_frames))
    # the degradation walks from frame to frame: mirrored GT pairs get different LQ frames
    assert all(not (lq[i] == lq[-1 - i]).all() for i in range(num_input_frames))
