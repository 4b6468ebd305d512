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
    assert s1.model.cleaning_loss.type == 'CharbonnierLoss'  # on the GT downsampled by the editor
    assert s1.optim_wrapper.generator.optimizer.lr == 1e-4
    assert s1.train_cfg.max_iters == 300_000 and s2.train_cfg.max_iters == 150_000
    assert s2.model.generator.is_fix_cleaning and not g.is_fix_cleaning
    assert s2.model.perceptual_loss.perceptual_weight == 1.0
    assert s2.model.gan_loss.loss_weight == 5e-2
    assert s2.model.discriminator.type == 'UNetDiscriminatorWithSpectralNorm'
    assert s2.optim_wrapper.generator.optimizer.lr == 5e-5
    assert s2.optim_wrapper.discriminator.optimizer.lr == 1e-4
    hooks = {h.type: h for h in s1.custom_hooks}, {h.type: h for h in s2.custom_hooks}
    assert hooks[0]['DynamicRefinementHook'].dynamic_refine_thres == 1.5
    assert hooks[1]['DynamicRefinementHook'].dynamic_refine_thres == 5
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


def test_the_stage_configs_use_the_one_degradation_list():
    from realbasicvsr_plugin.datasets.transforms import realbasicvsr_degradation_cfgs
    listed = realbasicvsr_degradation_cfgs()
    base = Config.fromfile(str(CONFIGS / '_base_' / 'realbasicvsr_degradations.py')).to_dict()
    assert listed == base['degradations']
    for stage in ('stage1', 'stage2'):
        cfg = Config.fromfile(str(CONFIGS / f'realbasicvsr_{stage}.py')).to_dict()
        pipeline = cfg['train_dataloader']['dataset']['pipeline']
        kinds = [t['type'] for t in pipeline]
        assert pipeline[kinds.index('CopyValues') + 1:kinds.index('Clip')] == listed, stage
    # the adapted variants come from the same list
    conventional = realbasicvsr_degradation_cfgs(stochastic=False, video_compression=False,
                                                 target_size=(32, 48), channel_order='bgr')
    assert '_step' not in str(conventional) and 'RandomVideoCompression' not in str(conventional)
    assert "'target_size': (32, 48)" in str(conventional)
    jpeg = [t for t in conventional if t['type'] == 'RandomJPEGCompression']
    assert len(jpeg) == 2 and not any(t['bgr2rgb'] for t in jpeg)


def test_inference_videolq_and_stage1_share_one_model_file():
    base = Config.fromfile(str(CONFIGS / '_base_' / 'realbasicvsr_x4_model.py')).model
    for name in ('realbasicvsr_x4_inference.py', 'realbasicvsr_x4_videolq.py',
                 'realbasicvsr_stage1.py', 'realbasicvsr_stage2.py'):
        text = (CONFIGS / name).read_text()
        assert 'num_propagation_blocks' not in text and 'num_cleaning_blocks' not in text, name
        model = Config.fromfile(str(CONFIGS / name)).model
        assert model.type == base.type and model.generator.type == base.generator.type
        for key in ('mid_channels', 'num_propagation_blocks', 'num_cleaning_blocks', 'scale'):
            assert model.generator[key] == base.generator[key], (name, key)
    videolq = Config.fromfile(str(CONFIGS / 'realbasicvsr_x4_videolq.py'))
    runtime = Config.fromfile(str(CONFIGS / '_base_' / 'default_runtime.py'))
    assert videolq.default_scope == runtime.default_scope
    assert videolq.custom_imports == runtime.custom_imports
    assert videolq.model.data_preprocessor.data_keys is None


def _resolved(name: str) -> dict:
    return Config.fromfile(str(CONFIGS / name)).to_dict()


def test_the_demo_configs_train_on_the_papers_pipeline_with_64_pixel_patches():
    paper = _resolved('realbasicvsr_stage1.py')['train_dataloader']['dataset']['pipeline']
    kinds = [t['type'] for t in paper]
    crop, copy, clip = kinds.index('FixedCrop'), kinds.index('CopyValues'), kinds.index('Clip')
    assert paper[crop]['crop_size'] == (256, 256)
    # the paper's steps, with a 64x64 GT crop and the whole degradation as one step to 16x16
    expected = (paper[:crop] + [dict(paper[crop], crop_size=(64, 64))] + paper[crop + 1:copy + 1]
                + [dict(type='RealBasicVSRDegradations', keys=['img'], target_size=(16, 16))]
                + paper[clip:])
    for name in ('realbasicvsr_demo.py', 'realbasicvsr_demo_stage2.py'):
        cfg = _resolved(name)
        assert cfg['train_dataloader']['dataset']['pipeline'] == expected, name
        assert cfg['gt_patch_size'] == 64 and cfg['scale'] == 4


_MISSING = object()


def _changes(before: dict, after: dict, prefix: str = '') -> dict:
    """What ``after`` changes in ``before``: ``{dotted key: new value}``, nested dicts opened."""
    out = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if isinstance(old, dict) and isinstance(new, dict):
            out.update(_changes(old, new, f'{prefix}{key}.'))
        elif old != new:
            out[f'{prefix}{key}'] = new
    return out


def test_the_demo_stage2_changes_its_stage1_as_the_papers_stage2_does_but_size_and_schedule():
    s1, s2, d1, d2 = (_resolved(f'realbasicvsr_{name}.py')
                      for name in ('stage1', 'stage2', 'demo', 'demo_stage2'))
    paper, demo = _changes(s1, s2), _changes(d1, d2)
    shared = {key for key in paper.keys() & demo.keys() if paper[key] == demo[key]}
    # the stage-2 recipe: frozen cleaning module, GAN loss, sharpened GT, lrs, test theta 5
    assert {'model.generator.is_fix_cleaning', 'model.gan_loss', 'model.is_use_sharpened_gt_in_gan',
            'model.is_use_sharpened_gt_in_percep', 'optim_wrapper.generator.optimizer.lr',
            'optim_wrapper.discriminator'} <= shared
    assert s2['model']['generator']['is_fix_cleaning'] and s2['model']['gan_loss']['loss_weight'] \
        == 5e-2 and s2['optim_wrapper']['generator']['optimizer']['lr'] == 5e-5
    for stage1, stage2 in ((s1, s2), (d1, d2)):  # stage 1's hooks, theta 5 for testing
        assert stage2['custom_hooks'] == [
            dict(h, dynamic_refine_thres=5) if h['type'] == 'DynamicRefinementHook' else h
            for h in stage1['custom_hooks']]
    # what only the demo changes: its names, its stage-1 checkpoint, size and schedule
    assert {key: demo[key] for key in demo.keys() - shared if key != 'custom_hooks'} == dict(
        experiment_name='realbasicvsr_demo_stage2',
        work_dir='./work_dirs/realbasicvsr_demo_stage2',
        load_from='./work_dirs/realbasicvsr_demo/iter_600.pth',
        max_iters=200,
        **{'train_cfg.max_iters': 200,
           'param_scheduler': None,
           'default_hooks.checkpoint.interval': 25,
           'model.discriminator': dict(s2['model']['discriminator'], mid_channels=32),
           'model.perceptual_loss': None})  # no pretrained VGG offline (configs/... comment)
    # what only the paper's stage 2 changes: batch size, perceptual loss, its names
    assert set(paper.keys() - shared) == {
        'experiment_name', 'work_dir', 'load_from', 'train_dataloader.batch_size',
        'auto_scale_lr.base_batch_size', 'train_cfg.max_iters', 'model.discriminator',
        'model.perceptual_loss', 'custom_hooks'}
    # the demo keeps its own stage-1 settings: SPyNet's lr_mult, data, EMA decay
    assert d2['optim_wrapper']['generator']['paramwise_cfg'] == \
        d1['optim_wrapper']['generator']['paramwise_cfg']
    assert d2['train_dataloader'] == d1['train_dataloader']
