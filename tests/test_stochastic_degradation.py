"""The stochastic degradation scheme of RealBasicVSR (Sec. 4.2) and temporal flipping.

Claims: every degradation parameter of a clip random-walks from frame to frame,
p_(i+1) = clip(p_i + r_(i+1), range) with r ~ U(-step, step); it stays inside its range, moves by at
most the step, and does move; with zero steps a clip gets one parameter set. The dataset loads
L/2 frames, the pipeline mirrors them to L, and GT and LQ stay aligned. A fixed seed reproduces a
degraded clip.
"""
import copy
import math

import cv2
import numpy as np
import pytest
from mmengine.fileio.backends import LocalBackend

from realbasicvsr_plugin.datasets.transforms import random_walk, realbasicvsr_degradation_cfgs
from realbasicvsr_plugin.registry import DATASETS, TRANSFORMS

L = 30  # frames per training sample in the paper
# The paper's random-walk steps (RealBasicVSR's released configs, copied by MMagic's).
PAPER_STEPS = {
    'sigma_x_step': 0.02, 'sigma_y_step': 0.02, 'rotate_angle_step': 0.31416,
    'beta_gaussian_step': 0.05, 'beta_plateau_step': 0.1, 'omega_step': 0.0628,
    'resize_step': (0.015, 0.03), 'gaussian_sigma_step': 0.1, 'poisson_scale_step': 0.005,
    'quality_step': 3,
}


def _flatten(cfgs):
    """The transform configs of a pipeline list, groups and shuffles included."""
    for cfg in cfgs:
        if isinstance(cfg, list):
            yield from _flatten(cfg)
        elif cfg['type'] == 'DegradationsWithShuffle':
            yield from _flatten(cfg['degradations'])
        else:
            yield cfg


def _build(cfg):
    cfg = copy.deepcopy(cfg)
    cfg.setdefault('keys', ['img'])
    return TRANSFORMS.build(cfg)


def _walked_params(transform, num_frames):
    """Per-frame parameter arrays drawn by a transform, with the (range, step) they must obey."""
    name = type(transform).__name__
    if name == 'RandomBlur':
        params = transform.draw_params(num_frames)
        kind = params['kernel_type']
        ranges = dict(sigma_x=(transform.sigma_x, 'sigma_x_step'),
                      sigma_y=(transform.sigma_y, 'sigma_y_step'),
                      rotate_angle=(transform.rotate_angle, 'rotate_angle_step'),
                      omega=(transform.omega, 'omega_step'))
        if kind.startswith('generalized'):
            ranges['beta'] = (transform.beta_gaussian, 'beta_gaussian_step')
        elif kind.startswith('plateau'):
            ranges['beta'] = (transform.beta_plateau, 'beta_plateau_step')
        if transform.omega is None:  # Real-ESRGAN's default depends on the kernel size
            low = math.pi / 3 if params['kernel_size'] < 13 else math.pi / 5
            ranges['omega'] = ((low, math.pi), 'omega_step')
        return {key: (values, ranges[key][0], transform.steps[ranges[key][1]])
                for key, values in params.items() if key in ranges}
    if name == 'RandomResize':
        if transform.target_size is not None:  # the last stage's fixed size: nothing to walk
            return {}
        return dict(scale=(transform.draw_scales(num_frames), transform.resize_scale,
                           transform.resize_step))
    if name == 'RandomNoise':
        params = transform.draw_params(num_frames)
        setting = transform.settings[params['noise_type']]
        return dict(level=(params['levels'], setting['level'], setting['step']))
    if name == 'RandomJPEGCompression':
        # qualities are the walk rounded to integers: one more unit of slack
        return dict(quality=(transform.draw_qualities(num_frames), transform.quality,
                             transform.quality_step + 1 if transform.quality_step else 0))
    return {}


def _paper_transforms(stochastic):
    cfgs = realbasicvsr_degradation_cfgs(stochastic=stochastic, video_compression=False)
    return [_build(cfg) for cfg in _flatten(cfgs)]


def test_random_walk_stays_in_range_moves_by_at_most_the_step_and_does_move():
    np.random.seed(0)
    for _ in range(200):
        values = random_walk(np.random.uniform(0.2, 3), 0.02, (0.2, 3), L)
        assert values.min() >= 0.2 and values.max() <= 3
        assert np.abs(np.diff(values)).max() <= 0.02 + 1e-12
        assert np.count_nonzero(np.diff(values)) > 0


def test_random_walk_increments_are_uniform_in_minus_step_to_step():
    np.random.seed(1)
    steps = np.concatenate([np.diff(random_walk(0, 0.5, (-1e9, 1e9), 1000)) for _ in range(20)])
    assert steps.min() >= -0.5 and steps.max() <= 0.5
    assert abs(steps.mean()) < 0.01  # centred
    assert steps.var() == pytest.approx(0.5**2 / 3, rel=0.05)  # U(-s, s) has variance s^2 / 3
    assert steps.min() < -0.49 and steps.max() > 0.49  # reaches both ends


def test_random_walk_is_clipped_at_the_range_ends():
    np.random.seed(2)
    values = random_walk(1.0, 0.5, (0.9, 1.0), 200)  # starts at the top, large steps
    assert values.min() >= 0.9 and values.max() <= 1.0
    assert (values == 1.0).sum() > 1 and (values == 0.9).sum() > 1  # it sits at both bounds


def test_zero_step_keeps_one_value_for_the_whole_clip():
    np.random.seed(3)
    assert np.all(random_walk(0.7, 0, (0.2, 3), L) == 0.7)


def test_the_paper_pipeline_uses_the_paper_steps():
    cfgs = list(_flatten(realbasicvsr_degradation_cfgs(stochastic=True)))
    seen = {}
    for cfg in cfgs:
        for key, value in cfg.get('params', {}).items():
            if key.endswith('_step'):
                seen.setdefault(key, set()).add(value)
    for key, expected in PAPER_STEPS.items():
        expected = set(expected) if isinstance(expected, tuple) else {expected}
        assert seen[key] == expected, key
    conventional = list(_flatten(realbasicvsr_degradation_cfgs(stochastic=False)))
    assert not [k for c in conventional for k in c.get('params', {}) if k.endswith('_step')]


def test_every_parameter_of_the_paper_pipeline_walks_inside_its_range():
    np.random.seed(4)
    walked = set()
    for transform in _paper_transforms(stochastic=True):
        for _ in range(60):
            for name, (values, value_range, step) in _walked_params(transform, L).items():
                low, high = value_range
                assert values.min() >= low - 1e-9 and values.max() <= high + 1e-9, name
                assert np.abs(np.diff(values)).max() <= step + 1e-9, name
                if np.count_nonzero(np.diff(values)):
                    walked.add((type(transform).__name__, name))
    assert walked >= {('RandomBlur', 'sigma_x'), ('RandomBlur', 'sigma_y'),
                      ('RandomBlur', 'rotate_angle'), ('RandomBlur', 'beta'),
                      ('RandomBlur', 'omega'), ('RandomResize', 'scale'),
                      ('RandomNoise', 'level'), ('RandomJPEGCompression', 'quality')}


def test_the_conventional_scheme_draws_one_parameter_set_per_clip():
    np.random.seed(5)
    for transform in _paper_transforms(stochastic=False):
        for _ in range(20):
            for name, (values, _, _) in _walked_params(transform, L).items():
                assert np.all(values == values[0]), (type(transform).__name__, name)


def _constant_clip(num_frames=L, size=32):
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.uniform(0, 255, (size, size, 3)).astype(np.float32), (0, 0), 1)
    return [frame.copy() for _ in range(num_frames)]


@pytest.mark.parametrize('kernel', ['iso', 'aniso', 'generalized_aniso', 'plateau_iso', 'sinc'])
def test_identical_frames_are_blurred_differently_only_with_steps(kernel):
    params = dict(kernel_size=[11], kernel_list=[kernel], kernel_prob=[1], sigma_x=[0.5, 3],
                  sigma_y=[0.5, 3])
    steps = dict(sigma_x_step=0.2, sigma_y_step=0.2, rotate_angle_step=0.3,
                 beta_gaussian_step=0.3, beta_plateau_step=0.3, omega_step=0.3)
    np.random.seed(6)
    fixed = _build(dict(type='RandomBlur', params=params))(dict(img=_constant_clip()))['img']
    assert all(np.array_equal(fixed[0], frame) for frame in fixed)
    walking = _build(dict(type='RandomBlur', params=dict(params, **steps)))
    out = walking(dict(img=_constant_clip()))['img']
    assert not np.allclose(out[0], out[-1], atol=1e-3)


def test_the_noise_level_of_each_frame_follows_its_walk():
    transform = _build(dict(type='RandomNoise', params=dict(
        noise_type=['gaussian'], noise_prob=[1], gaussian_sigma=[1, 30],
        gaussian_sigma_step=3)))
    np.random.seed(7)
    expected = transform.draw_params(L)['levels']
    np.random.seed(7)
    clip = [np.full((64, 64, 3), 128, np.float32) for _ in range(L)]
    out = transform(dict(img=clip))['img']
    measured = np.array([np.std(frame - 128) for frame in out])
    assert np.allclose(measured, expected, rtol=0.05)
    assert np.ptp(expected) > 3  # the level did move along the clip


def _write_clip(root, num_frames, size=24, step=12):
    """Frames whose brightness identifies them: frame i is flat at 30 + step * i."""
    clip_dir = root / '000'
    clip_dir.mkdir(parents=True)
    for i in range(num_frames):
        cv2.imwrite(str(clip_dir / f'{i:08d}.png'),
                    np.full((size, size, 3), 30 + step * i, np.uint8))
    return root


def _frames_dataset(root, num_loaded, pipeline):
    return DATASETS.build(dict(
        type='BasicFramesDataset', metainfo=dict(dataset_type='reds', task_name='vsr'),
        data_root=str(root), data_prefix=dict(img='', gt=''), depth=1,
        num_input_frames=num_loaded, pipeline=pipeline))


def test_the_dataset_loads_half_the_frames_and_the_pipeline_mirrors_them(tmp_path, monkeypatch):
    length = 10
    _write_clip(tmp_path, 16)
    reads = []
    original_get = LocalBackend.get
    monkeypatch.setattr(LocalBackend, 'get',
                        lambda self, path: reads.append(str(path)) or original_get(self, path))
    pipeline = [
        dict(type='GenerateSegmentIndices', interval_list=[1]),
        dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
        dict(type='MirrorSequence', keys=['gt']),
    ]
    np.random.seed(8)
    results = _frames_dataset(tmp_path, length // 2, pipeline)[0]
    assert len(reads) == length // 2 == len(set(reads))
    assert len(results['gt']) == length
    loaded = [frame.copy() for frame in results['gt'][:length // 2]]
    levels = [int(frame[0, 0, 0]) for frame in loaded]
    assert levels == sorted(levels) and len(set(levels)) == length // 2  # consecutive frames
    mirrored = loaded + loaded[::-1]
    assert all(np.array_equal(a, b) for a, b in zip(results['gt'], mirrored))


def test_gt_and_lq_stay_aligned_through_mirroring_and_degradation(tmp_path):
    length = 10
    _write_clip(tmp_path, 5, size=96, step=40)  # levels 30, 70, ..., 190
    pipeline = [
        dict(type='GenerateSegmentIndices', interval_list=[1]),
        dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
        dict(type='MirrorSequence', keys=['gt']),
        dict(type='UnsharpMasking', keys=['gt'], kernel_size=7, sigma=0, weight=0.5,
             threshold=10),
        dict(type='CopyValues', src_keys=['gt_unsharp'], dst_keys=['img']),
        # video compression may carry a frame's content into the next at low bit rates; its
        # frame order is tested in test_video_compression.py
        dict(type='RealBasicVSRDegradations', target_size=(24, 24), video_compression=False),
        dict(type='Clip', keys=['img']),
    ]
    dataset = _frames_dataset(tmp_path, length // 2, pipeline)
    for seed in range(5):
        np.random.seed(seed)
        results = dataset[0]
        gt_levels = np.array([frame.mean() for frame in results['gt']])
        lq_levels = np.array([frame.mean() for frame in results['img']])
        assert len(results['img']) == len(results['gt']) == length
        assert results['img'][0].shape == (24, 24, 3)
        # every LQ frame is nearest in brightness to its own GT frame (levels are 40 apart)
        nearest = np.abs(lq_levels[:, None] - gt_levels[None, :]).argmin(axis=1)
        assert np.array_equal(gt_levels[nearest], gt_levels)


def test_a_fixed_seed_reproduces_a_degraded_clip_and_another_seed_does_not():
    transform = TRANSFORMS.build(dict(type='RealBasicVSRDegradations', target_size=(16, 16)))
    rng = np.random.default_rng(9)
    gt = [cv2.GaussianBlur(rng.uniform(0, 255, (64, 64, 3)).astype(np.float32), (0, 0), 1)
          for _ in range(6)]

    def run(seed):
        np.random.seed(seed)
        return np.stack(transform(dict(img=[f.copy() for f in gt]))['img'])

    first, again, other = run(10), run(10), run(11)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
