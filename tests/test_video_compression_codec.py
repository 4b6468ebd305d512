"""RandomVideoCompression encodes each clip with the codec it drew (checked on the bitstream)."""
import io

import av
import numpy as np
import pytest

from realbasicvsr_plugin.datasets.transforms import video_compression as video_module
from realbasicvsr_plugin.registry import TRANSFORMS

#: The stream each encoder writes, as a decoder names it.
BITSTREAM = {'libx264': 'h264', 'h264': 'h264', 'mpeg4': 'mpeg4'}


def _clip():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(4)]


def _build(codecs, probs):
    return TRANSFORMS.build(dict(type='RandomVideoCompression', keys=['img'],
                                 params=dict(codec=codecs, codec_prob=probs,
                                             bitrate=[1e4, 1e5])))


def _spy_written(monkeypatch):
    """The in-memory files the transform writes."""
    written = []
    original = video_module.av.open

    def spy(target, mode='r', *args, **kwargs):
        if mode == 'w':
            written.append(target)
        return original(target, mode, *args, **kwargs)

    monkeypatch.setattr(video_module.av, 'open', spy)
    return written


def _codec_of(buffer, container_format):
    with av.open(io.BytesIO(buffer.getvalue()), format=container_format) as container:
        return container.streams.video[0].codec_context.name


@pytest.mark.parametrize('chosen', [0, 1, 2])
def test_the_only_codec_with_probability_one_is_used(chosen, monkeypatch):
    codecs = ['libx264', 'h264', 'mpeg4']
    probs = [1.0 if i == chosen else 0.0 for i in range(3)]
    transform = _build(codecs, probs)
    written = _spy_written(monkeypatch)
    transform(dict(img=_clip()))
    assert len(written) == 1
    assert _codec_of(written[0], transform.container_format) == BITSTREAM[codecs[chosen]]


def test_each_clip_is_encoded_with_the_codec_drawn_for_it(monkeypatch):
    transform = _build(['mpeg4', 'libx264'], [0.5, 0.5])
    written = _spy_written(monkeypatch)
    seen = set()
    for seed in range(12):
        np.random.seed(seed)
        drawn, _ = transform.draw_settings()
        np.random.seed(seed)
        transform(dict(img=_clip()))
        assert _codec_of(written[-1], transform.container_format) == BITSTREAM[drawn], seed
        seen.add(drawn)
    assert seen == {'mpeg4', 'libx264'}
