"""RandomVideoCompression: real codecs through PyAV, in memory, on any frame size.

Claims: compression changes pixels but keeps the number, order, shape and dtype of the frames, for
each codec (libx264, h264, mpeg4) and for odd sizes; lower bit rates lose more; colours keep
their channel; no file is written; a fixed seed reproduces the output; an unavailable codec or a
bad option is reported when the transform is built, and a clip of mixed sizes gets a clear error.
"""
import io
import os

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from realbasicvsr_plugin.datasets.transforms import RandomVideoCompression
from realbasicvsr_plugin.datasets.transforms import video_compression as video_module
from realbasicvsr_plugin.registry import TRANSFORMS

CODECS = ['libx264', 'h264', 'mpeg4']
PAPER = dict(codec=CODECS, codec_prob=[1 / 3] * 3, bitrate=[1e4, 1e5])


def _moving_clip(num_frames=8, height=40, width=48, dtype=np.uint8, seed=0):
    """A textured clip whose frames are distinguishable: the texture slides by 3 px a frame."""
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.uniform(0, 255, (height, width + 3 * num_frames, 3)),
                           (0, 0), 1.5)
    frames = [big[:, 3 * i:3 * i + width] for i in range(num_frames)]
    return [np.clip(frame, 0, 255).round().astype(dtype) for frame in frames]


def _build(**params):
    return TRANSFORMS.build(dict(type='RandomVideoCompression', params=dict(PAPER, **params),
                                 keys=['img']))


@pytest.mark.parametrize('codec', CODECS)
@pytest.mark.parametrize('size', [(40, 48), (33, 47)], ids=['even', 'odd'])
@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_compression_changes_pixels_but_keeps_count_order_shape_and_dtype(codec, size, dtype):
    clip = _moving_clip(height=size[0], width=size[1], dtype=dtype)
    transform = _build(codec=[codec], codec_prob=[1], bitrate=[2e4, 2e4])
    out = transform(dict(img=[f.copy() for f in clip]))['img']
    assert len(out) == len(clip)
    assert all(f.shape == clip[0].shape and f.dtype == clip[0].dtype for f in out)
    differences = [np.abs(o.astype(np.float64) - c).mean() for o, c in zip(out, clip)]
    assert min(differences) > 0.1  # every frame went through a lossy codec
    # frame i of the output is closest to frame i of the input: order kept, nothing dropped
    errors = np.array([[np.abs(o.astype(np.float64) - c).mean() for c in clip] for o in out])
    assert np.array_equal(errors.argmin(axis=1), np.arange(len(clip)))


def test_a_lower_bit_rate_loses_more():
    transform = _build()
    # a gray texture, so that the codec's quantisation (not chroma subsampling) sets the error
    gray = np.stack(_moving_clip(num_frames=10, height=128, width=128))[..., :1]
    gray = (gray - gray.min()) * (255.0 / np.ptp(gray))
    clip = np.repeat(gray, 3, axis=3).astype(np.float32)
    low = np.abs(transform.compress(clip, 'libx264', 10_000) - clip).mean()
    high = np.abs(transform.compress(clip, 'libx264', 1_000_000) - clip).mean()
    assert low > 1.5 * high


@pytest.mark.parametrize('channel_order', ['rgb', 'bgr'])
def test_colours_stay_in_their_channels(channel_order):
    transform = TRANSFORMS.build(dict(type='RandomVideoCompression', params=PAPER, keys=['img'],
                                      channel_order=channel_order))
    clip = np.zeros((4, 32, 32, 3), np.uint8)
    clip[..., 0] = 200  # a frame strong in channel 0 (red for RGB, blue for BGR)
    out = transform.compress(clip, 'libx264', 100_000)
    means = out.reshape(-1, 3).mean(axis=0)
    assert means[0] > 150 and means[1] < 50 and means[2] < 50


def test_gray_frames_are_coded_and_stay_gray():
    transform = _build()
    clip = [frame[..., 0] for frame in _moving_clip()]
    out = transform(dict(img=clip))['img']
    assert len(out) == len(clip) and out[0].shape == clip[0].shape


def test_a_fixed_seed_reproduces_the_compressed_clip():
    transform = _build()
    clip = _moving_clip()

    def run(seed):
        np.random.seed(seed)
        return np.stack(transform(dict(img=[f.copy() for f in clip]))['img'])

    outputs = [run(seed) for seed in (3, 3, 4, 5, 6)]
    assert np.array_equal(outputs[0], outputs[1])
    assert any(not np.array_equal(outputs[0], other) for other in outputs[2:])


def test_no_file_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    opened = []
    original_open = video_module.av.open
    monkeypatch.setattr(video_module.av, 'open',
                        lambda target, *args, **kwargs: opened.append(target) or original_open(
                            target, *args, **kwargs))
    transform = _build()
    transform(dict(img=_moving_clip()))
    assert opened and all(isinstance(target, io.BytesIO) for target in opened)
    assert os.listdir(tmp_path) == []


def test_prob_zero_leaves_the_clip_alone():
    transform = _build(prob=0)
    clip = _moving_clip()
    out = transform(dict(img=clip))['img']
    assert all(o is c for o, c in zip(out, clip))


def test_the_plugin_scope_resolves_the_plugin_class_and_mmagic_scope_can_name_it():
    assert type(_build()) is RandomVideoCompression
    with DefaultScope.overwrite_default_scope('mmagic'):
        from mmagic.registry import TRANSFORMS as MMAGIC_TRANSFORMS
        built = MMAGIC_TRANSFORMS.build(dict(type='realbasicvsr_plugin.RandomVideoCompression',
                                             params=PAPER, keys=['img']))
        assert type(built) is RandomVideoCompression
        assert MMAGIC_TRANSFORMS.get('RandomVideoCompression') is not RandomVideoCompression


@pytest.mark.parametrize('params, message', [
    (dict(codec=['libx264', 'no_such_codec'], codec_prob=[0.5, 0.5]), 'no_such_codec'),
    (dict(codec_prob=[0.5, 0.3, 0.1]), 'sums to'),
    (dict(codec_prob=[0.5, 0.5]), '3 probabilities'),
    (dict(bitrate=[1e5, 1e4]), 'high-before-low'),
    (dict(bitrate=None), "'bitrate'"),
    (dict(codec=[]), "'codec'"),
    (dict(bit_rate=[1e4, 1e5]), 'unknown params'),
])
def test_bad_options_fail_when_the_transform_is_built(params, message):
    with pytest.raises(ValueError, match=message):
        _build(**params)


def test_bad_constructor_arguments_fail_when_the_transform_is_built():
    with pytest.raises(ValueError, match='channel_order'):
        RandomVideoCompression(PAPER, ['img'], channel_order='yuv')
    with pytest.raises(ValueError, match='fps'):
        RandomVideoCompression(PAPER, ['img'], fps=0)


def test_frames_of_different_sizes_get_an_error_naming_the_sizes():
    clip = _moving_clip(num_frames=2) + _moving_clip(num_frames=1, height=20, width=24)
    with pytest.raises(ValueError, match=r'20x24x3.*40x48x3|40x48x3.*20x24x3'):
        _build()(dict(img=clip))


def test_frames_with_two_channels_get_a_clear_error():
    with pytest.raises(ValueError, match='channels'):
        _build()(dict(img=[np.zeros((16, 16, 2), np.uint8)] * 3))
