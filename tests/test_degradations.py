"""Real-ESRGAN's second-order degradations as the plugin's transforms.

Claims: the blur kernels are the bivariate Gaussian, generalized Gaussian, plateau and sinc
kernels; with parameters fixed, blur, resize, noise, JPEG and unsharp masking agree with MMagic's
transforms; the shuffled last stage applies its entries in every order while groups keep theirs;
a MMagic pipeline ports by changing only its scope; bad options fail when a transform is built
and frames of different sizes fail with the sizes named.
"""
import copy
import math

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from scipy import special

import mmagic
from mmagic.registry import TRANSFORMS as MMAGIC_TRANSFORMS
from realbasicvsr_plugin.datasets.transforms import (RealBasicVSRDegradations, make_kernel,
                                                    realbasicvsr_degradation_cfgs)
from realbasicvsr_plugin.datasets.transforms.blur import filter_clip, filter_clip_separable
from realbasicvsr_plugin.registry import TRANSFORMS

MMAGIC_CONFIG = (f'{mmagic.__path__[0]}/.mim/configs/real_basicvsr/'
                 'realbasicvsr_wogan-c64b20-2x30x8_8xb2-lr1e-4-300k_reds.py')


def _texture(num_frames=4, size=48, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    frames = [cv2.GaussianBlur(rng.uniform(0, 255, (size, size, 3)), (0, 0), 1.2)
              for _ in range(num_frames)]
    return [np.clip(f, 0, 255).round().astype(dtype) if dtype == np.uint8 else f.astype(dtype)
            for f in frames]


def _mmagic(cfg):
    with DefaultScope.overwrite_default_scope('mmagic'):
        return MMAGIC_TRANSFORMS.build(copy.deepcopy(cfg))


def _plugin(cfg):
    return TRANSFORMS.build(copy.deepcopy(cfg))


def _run(transform, frames, seed=0):
    np.random.seed(seed)
    return transform(dict(img=[f.copy() for f in frames]))['img']


# ----------------------------------------------------------------------------- blur kernels
def _grid(size):
    r = np.arange(size) - size // 2
    x, y = np.meshgrid(r, r)
    return x, y


def _quadratic_form(size, sx, sy, theta):
    """x^T Sigma^-1 x for the rotated covariance R diag(sx^2, sy^2) R^T."""
    x, y = _grid(size)
    u = np.cos(theta) * x + np.sin(theta) * y  # coordinates along the principal axes
    v = -np.sin(theta) * x + np.cos(theta) * y
    return (u / sx)**2 + (v / sy)**2


def _reference_kernel(kind, size, sx, sy, theta, beta, omega):
    """Real-ESRGAN's kernels written from their formulas."""
    if kind.endswith('_iso') or kind == 'iso':
        sy, theta = sx, 0.0
    q = _quadratic_form(size, sx, sy, theta)
    if kind in ('iso', 'aniso'):
        kernel = np.exp(-0.5 * q)
    elif kind.startswith('generalized'):
        kernel = np.exp(-0.5 * q**beta)
    elif kind.startswith('plateau'):
        kernel = 1 / (1 + q**beta)
    else:
        x, y = _grid(size)
        r = np.hypot(x, y)
        with np.errstate(divide='ignore', invalid='ignore'):
            kernel = omega * special.j1(omega * r) / (2 * np.pi * r)
        kernel[size // 2, size // 2] = omega**2 / (4 * np.pi)
    return kernel / kernel.sum()


KINDS = ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso',
         'sinc']


@pytest.mark.parametrize('kind', KINDS)
def test_blur_kernels_have_the_shapes_of_real_esrgan(kind):
    size, sx, sy, theta, beta, omega = 15, 2.5, 0.8, 0.6, 1.7, 1.3
    expected = _reference_kernel(kind, size, sx, sy, theta, beta, omega)
    kernel = make_kernel(kind, size, sigma_x=sx, sigma_y=sy, rotate_angle=theta, beta=beta,
                         omega=omega)
    assert kernel.shape == (size, size) and kernel.dtype == np.float32
    assert np.allclose(kernel, expected, atol=1e-6)


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('beta', [0.6, 3.0])
def test_random_blur_filters_each_frame_with_the_kernel_of_its_parameters(kind, beta):
    sx, sy, theta, omega = 2.0, 0.7, -0.9, 1.1
    transform = _plugin(dict(type='RandomBlur', keys=['img'], params=dict(
        kernel_size=[13], kernel_list=[kind], kernel_prob=[1], sigma_x=[sx, sx],
        sigma_y=[sy, sy], rotate_angle=[theta, theta], beta_gaussian=[beta, beta],
        beta_plateau=[beta, beta], omega=[omega, omega])))
    frames = _texture(num_frames=2)
    kernel = _reference_kernel(kind, 13, sx, sy, theta, beta, omega).astype(np.float32)
    for frame, out in zip(frames, _run(transform, frames)):
        assert np.abs(out - cv2.filter2D(frame, -1, kernel)).max() < 1e-3


@pytest.mark.parametrize('dtype', [np.float32, np.uint8])
@pytest.mark.parametrize('size', [48, 5], ids=['frame', 'smaller-than-kernel'])
def test_the_clip_wide_filters_equal_cv2_filter2d_per_frame(dtype, size):
    frames = np.stack(_texture(num_frames=3, size=size, dtype=dtype))
    rng = np.random.default_rng(1)
    kernels = [k / k.sum() for k in rng.uniform(0, 1, (3, 13, 13)).astype(np.float32)]
    expected = np.stack([cv2.filter2D(f, -1, k) for f, k in zip(frames, kernels)])
    tolerance = 1 if dtype == np.uint8 else 1e-3
    assert np.abs(filter_clip(frames, kernels).astype(float) - expected).max() <= tolerance
    gauss = [cv2.getGaussianKernel(9, s)[:, 0].astype(np.float32) for s in (0.5, 1.5, 3.0)]
    expected = np.stack([cv2.filter2D(f, -1, np.outer(g, g)) for f, g in zip(frames, gauss)])
    separable = filter_clip_separable(frames, gauss)
    assert np.abs(separable.astype(float) - expected).max() <= tolerance
    assert filter_clip(frames, kernels).dtype == dtype


@pytest.mark.parametrize('kind', ['iso', 'aniso', 'generalized_aniso', 'plateau_iso', 'sinc'])
def test_blur_with_fixed_parameters_agrees_with_mmagic(kind):
    # beta fixed at 1: MMagic redraws beta between 1 and its range for every frame
    params = dict(kernel_size=[11], kernel_list=[kind], kernel_prob=[1], sigma_x=[1.7, 1.7],
                  sigma_y=[0.6, 0.6], rotate_angle=[0.4, 0.4], beta_gaussian=[1, 1],
                  beta_plateau=[1, 1], omega=[1.2, 1.2])
    cfg = dict(type='RandomBlur', params=params, keys=['img'])
    frames = _texture()
    ours, theirs = _run(_plugin(cfg), frames), _run(_mmagic(cfg), frames)
    assert all(np.abs(a - b).max() < 1e-3 for a, b in zip(ours, theirs))
    assert np.abs(ours[0] - frames[0]).mean() > 1  # it did blur


def test_blur_keeps_uint8_frames_uint8():
    cfg = dict(type='RandomBlur', params=dict(kernel_size=[7], kernel_list=['aniso'],
                                              kernel_prob=[1], sigma_x=[1, 2]), keys=['img'])
    out = _run(_plugin(cfg), _texture(dtype=np.uint8))
    assert out[0].dtype == np.uint8


# ----------------------------------------------------------------------------- resize
@pytest.mark.parametrize('interpolation', ['bilinear', 'area', 'bicubic', 'lanczos'])
def test_resize_to_a_target_size_agrees_with_mmagic(interpolation):
    cfg = dict(type='RandomResize', keys=['img'], params=dict(
        target_size=(20, 30), resize_opt=[interpolation], resize_prob=[1]))
    frames = _texture()
    ours, theirs = _run(_plugin(cfg), frames), _run(_mmagic(cfg), frames)
    assert all(a.shape == (20, 30, 3) and np.array_equal(a, b) for a, b in zip(ours, theirs))


@pytest.mark.parametrize('mode, expected', [((1, 0, 0), 'up'), ((0, 1, 0), 'down'),
                                            ((0, 0, 1), 'keep')])
def test_resize_modes_draw_scales_up_down_or_keep(mode, expected):
    cfg = dict(type='RandomResize', keys=['img'], params=dict(
        resize_mode_prob=list(mode), resize_scale=[0.5, 1.5], resize_opt=['area'],
        resize_prob=[1], is_size_even=True))
    transform = _plugin(cfg)
    np.random.seed(2)
    for _ in range(20):
        out = transform(dict(img=_texture(num_frames=2, size=40)))['img']
        height, width = out[0].shape[:2]
        assert height % 2 == 0 and width % 2 == 0
        if expected == 'up':
            assert 40 <= height <= 60
        elif expected == 'down':
            assert 20 <= height <= 40
        else:
            assert height == 40


def test_a_walking_resize_keeps_one_size_per_clip_while_the_detail_follows_the_walk():
    cfg = dict(type='RandomResize', keys=['img'], params=dict(
        resize_mode_prob=[0, 1, 0], resize_scale=[0.2, 1.5], resize_opt=['area'],
        resize_prob=[1], resize_step=0.1))
    transform = _plugin(cfg)
    frame = _texture(num_frames=1, size=64)[0]
    smaller_frames = 0
    for seed in range(5):
        np.random.seed(seed)
        scales = transform.draw_scales(12)
        np.random.seed(seed)
        out = transform(dict(img=[frame.copy() for _ in range(12)]))['img']
        size = int(64 * scales[0])
        assert all(f.shape == (size, size, 3) for f in out)
        # a frame that went through a smaller size than the clip's lost detail; one that went
        # through the clip's own size is frame 0 again
        energy = np.array([np.abs(np.diff(f, axis=1)).mean() for f in out])
        smaller = np.array([int(64 * s) < size for s in scales])
        same = np.array([int(64 * s) == size for s in scales])
        assert np.all(energy[smaller] < energy[0] - 1e-3)
        assert all(np.array_equal(out[0], f) for f in np.array(out)[same])
        smaller_frames += smaller.sum()
    assert smaller_frames > 0  # the walk did go below the start


# ----------------------------------------------------------------------------- noise
def test_gaussian_noise_has_the_drawn_sigma_and_gray_noise_is_the_same_in_every_channel():
    flat = [np.full((64, 64, 3), 128, np.float32) for _ in range(3)]
    for gray in (0, 1):
        transform = _plugin(dict(type='RandomNoise', keys=['img'], params=dict(
            noise_type=['gaussian'], noise_prob=[1], gaussian_sigma=[10, 10],
            gaussian_gray_noise_prob=gray)))
        noise = np.stack(_run(transform, flat)) - 128
        assert np.std(noise) == pytest.approx(10, rel=0.03)
        same = np.allclose(noise[..., 0], noise[..., 1]) and np.allclose(noise[..., 0],
                                                                         noise[..., 2])
        assert same == bool(gray)


@pytest.mark.parametrize('gray', [0, 1])
def test_poisson_noise_has_the_variance_of_mmagics(gray):
    # on a two-level frame v = 2: noise = scale * (P(2 y) / 2 - y), variance scale^2 y / 2
    frame = np.full((64, 64, 3), 100, np.float32)
    frame[:, 32:] = 50
    frame[:32, :, 1] += 20  # colour, so that the luma of gray noise differs per channel
    cfg = dict(type='RandomNoise', keys=['img'], params=dict(
        noise_type=['poisson'], noise_prob=[1], poisson_scale=[2, 2],
        poisson_gray_noise_prob=gray))
    frames = [frame.copy() for _ in range(4)]
    ours = np.stack(_run(_plugin(cfg), frames)) - frame
    theirs = np.stack(_run(_mmagic(cfg), frames)) - frame
    for region in (np.s_[:, 32:, :32], np.s_[:, 32:, 32:], np.s_[:, :32, :32]):
        assert np.var(ours[region]) == pytest.approx(np.var(theirs[region]), rel=0.1)
        assert abs(ours[region].mean()) < 0.5


def test_noise_turns_uint8_frames_into_float32_and_keeps_float64():
    cfg = dict(type='RandomNoise', keys=['img'], params=dict(
        noise_type=['gaussian'], noise_prob=[1], gaussian_sigma=[1, 2]))
    assert _run(_plugin(cfg), _texture(dtype=np.uint8))[0].dtype == np.float32
    assert _run(_plugin(cfg), _texture(dtype=np.float64))[0].dtype == np.float64


# ----------------------------------------------------------------------------- JPEG
@pytest.mark.parametrize('bgr2rgb', [False, True])
@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_jpeg_at_a_fixed_quality_agrees_with_mmagic(bgr2rgb, dtype):
    cfg = dict(type='RandomJPEGCompression', keys=['img'], params=dict(quality=[40, 40]),
               bgr2rgb=bgr2rgb)
    frames = _texture(dtype=dtype)
    if dtype == np.float32:
        frames[0] = frames[0] * 1.2 - 20  # out of [0, 255]: both round and saturate
    ours, theirs = _run(_plugin(cfg), frames), _run(_mmagic(cfg), frames)
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))
    assert ours[0].dtype == dtype  # MMagic returns uint8 whatever it gets
    assert np.abs(ours[1].astype(float) - frames[1]).mean() > 0.5


def test_a_lower_jpeg_quality_loses_more():
    frames = _texture()
    errors = []
    for quality in (10, 90):
        cfg = dict(type='RandomJPEGCompression', keys=['img'],
                   params=dict(quality=[quality, quality]))
        errors.append(np.abs(np.stack(_run(_plugin(cfg), frames)) - np.stack(frames)).mean())
    assert errors[0] > 2 * errors[1]


# ----------------------------------------------------------------------------- unsharp masking
def test_unsharp_masking_agrees_with_mmagic_and_sharpens_a_mirrored_clip_once_per_frame():
    cfg = dict(type='UnsharpMasking', keys=['gt'], kernel_size=51, sigma=0, weight=0.5,
               threshold=10)
    frames = _texture(num_frames=3, size=64, dtype=np.uint8)
    mirrored = frames + frames[::-1]  # as MirrorSequence leaves it: each array twice
    ours = _plugin(cfg)(dict(gt=mirrored))['gt_unsharp']
    theirs = _mmagic(cfg)(dict(gt=list(mirrored)))['gt_unsharp']
    assert len(ours) == 6
    assert all(np.abs(a - b).max() < 1e-3 for a, b in zip(ours, theirs))
    assert len({id(f) for f in ours}) == 6  # distinct arrays: in-place edits stay per frame
    assert np.abs(ours[0] - frames[0]).max() > 1  # it did sharpen


# ----------------------------------------------------------------------------- shuffle
def test_the_shuffled_stage_applies_every_order_and_keeps_groups_in_order():
    log = []

    def mark(name):
        return lambda results: log.append(name) or results

    transform = _plugin(dict(type='DegradationsWithShuffle', keys=['img'],
                             degradations=[mark('a'), mark('b'), [mark('c'), mark('d')]]))
    orders = set()
    np.random.seed(4)
    for _ in range(200):
        log.clear()
        transform(dict(img=[]))
        assert sorted(log) == ['a', 'b', 'c', 'd']
        assert log.index('c') + 1 == log.index('d')
        orders.add(''.join(log))
    assert len(orders) == 6


def test_the_shuffled_stage_leaves_unlisted_positions_in_place():
    transform = _plugin(dict(type='DegradationsWithShuffle', keys=['img'], shuffle_idx=[1, 2],
                             degradations=[dict(type='Clip'), dict(type='Clip'),
                                           dict(type='Clip')]))
    np.random.seed(5)
    assert all(transform.order()[0] == 0 for _ in range(50))
    assert {tuple(transform.order()) for _ in range(50)} == {(0, 1, 2), (0, 2, 1)}


def test_the_shuffled_stage_builds_the_plugin_classes_and_leaves_its_config_alone():
    degradations = [dict(type='RandomVideoCompression', params=dict(
        codec=['mpeg4'], bitrate=[1e4, 1e5])), [dict(type='RandomResize', params=dict(
            target_size=(8, 8), resize_opt=['area'], resize_prob=[1]))]]
    frozen = copy.deepcopy(degradations)
    transform = _plugin(dict(type='DegradationsWithShuffle', keys=['img'],
                             degradations=degradations))
    assert degradations == frozen
    assert type(transform.degradations[0]).__module__.startswith('realbasicvsr_plugin')
    assert type(transform.degradations[1].transforms[0]).__module__.startswith('realbasicvsr_plugin')
    out = _run(transform, _texture())
    assert out[0].shape == (8, 8, 3)


# ----------------------------------------------------------------------------- compatibility
def test_mmagics_realbasicvsr_pipeline_ports_by_changing_only_the_scope():
    pipeline = Config.fromfile(MMAGIC_CONFIG).train_pipeline
    transforms = [_plugin(cfg) for cfg in pipeline[2:-1]]  # after loading, before packing
    names = {type(t).__name__: type(t).__module__ for t in transforms}
    for name in ('RandomBlur', 'RandomResize', 'RandomNoise', 'RandomJPEGCompression',
                 'RandomVideoCompression', 'DegradationsWithShuffle', 'UnsharpMasking'):
        assert names[name].startswith('realbasicvsr_plugin'), name
    results = dict(gt=_texture(num_frames=4, size=260, dtype=np.uint8))
    np.random.seed(6)
    for transform in transforms:
        results = transform(results)
    assert len(results['img']) == 8  # mirrored
    assert all(f.shape == (64, 64, 3) for f in results['img'])


def test_the_paper_pipeline_degrades_a_clip_to_the_lq_size():
    transform = RealBasicVSRDegradations(target_size=(16, 16))
    out = _run(transform, _texture(num_frames=6, size=64))
    assert len(out) == 6 and all(f.shape == (16, 16, 3) for f in out)
    cfgs = realbasicvsr_degradation_cfgs(video_compression=False)
    assert 'RandomVideoCompression' not in str(cfgs)


# ----------------------------------------------------------------------------- bad input
BLUR = dict(kernel_size=[7, 9], kernel_list=['iso', 'sinc'], kernel_prob=[0.5, 0.5],
            sigma_x=[0.2, 3])
RESIZE = dict(resize_mode_prob=[0.2, 0.7, 0.1], resize_scale=[0.15, 1.5],
              resize_opt=['bilinear', 'area'], resize_prob=[0.5, 0.5])
NOISE = dict(noise_type=['gaussian', 'poisson'], noise_prob=[0.5, 0.5], gaussian_sigma=[1, 30],
             poisson_scale=[0.05, 3])


@pytest.mark.parametrize('transform_type, params, message', [
    ('RandomBlur', dict(BLUR, sigma_x=[3, 0.2]), 'high-before-low'),
    ('RandomBlur', dict(BLUR, kernel_prob=[0.5, 0.6]), 'sums to'),
    ('RandomBlur', dict(BLUR, kernel_list=['iso', 'box']), "unknown names \\['box'\\]"),
    ('RandomBlur', dict(BLUR, kernel_size=[8]), 'odd'),
    ('RandomBlur', dict(BLUR, sigma_step=0.1), 'unknown params'),
    ('RandomBlur', dict(BLUR, sigma_x_step=-0.1), 'sigma_x_step'),
    ('RandomBlur', dict(BLUR, sigma_x=None), 'sigma_x'),
    ('RandomBlur', dict(BLUR, prob=1.5), 'prob'),
    ('RandomResize', dict(RESIZE, resize_scale=[1.5, 0.15]), 'high-before-low'),
    ('RandomResize', dict(RESIZE, resize_mode_prob=[0.5, 0.5, 0.5]), 'sums to'),
    ('RandomResize', dict(RESIZE, resize_opt=['nearest', 'area']), 'nearest'),
    ('RandomResize', dict(RESIZE, resize_scale=[0.2, 0.8]), 'contain 1'),
    ('RandomResize', dict(RESIZE, target_size=(0, 4)), 'target_size'),
    ('RandomNoise', dict(NOISE, gaussian_sigma=[30, 1]), 'high-before-low'),
    ('RandomNoise', dict(NOISE, noise_prob=[0.7, 0.7]), 'sums to'),
    ('RandomNoise', dict(NOISE, noise_type=['gaussian', 'speckle']), 'speckle'),
    ('RandomNoise', dict(NOISE, poisson_scale=None), 'poisson_scale'),
    ('RandomJPEGCompression', dict(quality=[95, 30]), 'high-before-low'),
    ('RandomJPEGCompression', dict(quality=[30, 120]), 'within'),
    ('RandomJPEGCompression', dict(quality=[30, 95], quality_stp=3), 'unknown params'),
])
def test_bad_options_fail_when_the_transform_is_built(transform_type, params, message):
    with pytest.raises(ValueError, match=message):
        _plugin(dict(type=transform_type, params=params, keys=['img']))


def test_bad_transform_arguments_fail_when_built():
    with pytest.raises(TypeError, match='keys'):
        _plugin(dict(type='RandomBlur', params=BLUR, keys=[1]))
    with pytest.raises(ValueError, match='kernel_size'):
        _plugin(dict(type='UnsharpMasking', keys=['gt'], kernel_size=50, sigma=0, weight=0.5,
                     threshold=10))
    with pytest.raises(ValueError, match='shuffle_idx'):
        _plugin(dict(type='DegradationsWithShuffle', keys=['img'], shuffle_idx=[0, 3],
                     degradations=[dict(type='Clip'), dict(type='Clip')]))
    with pytest.raises(ValueError, match='target_size'):
        RealBasicVSRDegradations(target_size=(64, ))


@pytest.mark.parametrize('transform_type, params', [
    ('RandomBlur', BLUR), ('RandomResize', RESIZE), ('RandomNoise', NOISE),
    ('RandomJPEGCompression', dict(quality=[30, 95])),
])
def test_frames_of_different_sizes_get_an_error_naming_the_sizes(transform_type, params):
    frames = _texture(num_frames=2, size=32) + _texture(num_frames=1, size=24)
    transform = _plugin(dict(type=transform_type, params=params, keys=['img']))
    with pytest.raises(ValueError, match=r"results\['img'\].*24x24x3, 32x32x3"):
        transform(dict(img=frames))


def test_a_missing_key_is_named():
    transform = _plugin(dict(type='RandomJPEGCompression', params=dict(quality=[30, 95]),
                             keys=['lq']))
    with pytest.raises(KeyError, match="'lq'"):
        transform(dict(img=_texture()))


def test_prob_decides_per_clip_whether_a_degradation_applies():
    transform = _plugin(dict(type='RandomBlur', params=dict(BLUR, prob=0.5), keys=['img']))
    frames = _texture(num_frames=2)
    np.random.seed(7)
    applied = [not np.array_equal(transform(dict(img=list(frames)))['img'][0], frames[0])
               for _ in range(200)]
    assert 0.4 < np.mean(applied) < 0.6
    assert math.isclose(_plugin(dict(type='RandomBlur', params=BLUR, keys=['img'])).prob, 1)


def test_the_paper_degradation_builds_the_plugins_transforms_from_mmagics_scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmagic'):
        transform = TRANSFORMS.build(dict(type='realbasicvsr_plugin.RealBasicVSRDegradations',
                                          target_size=(16, 16)))
    built = transform.transforms.transforms
    assert len(built) == len(realbasicvsr_degradation_cfgs())
    assert all(type(t).__module__.startswith('realbasicvsr_plugin') for t in built)
    shuffle = built[-1]
    assert type(shuffle.degradations[0]).__module__.startswith('realbasicvsr_plugin')
