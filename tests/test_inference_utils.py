"""Small media and models that the inference tests make for themselves (plus checks of them).

Helpers live here (imported by ``test_inference*.py``, ``test_streaming*.py``, ``test_cli*.py``);
the tests at the bottom check that the generated clips are what the other tests assume.
"""
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

FPS = 25


def moving_frames(t: int = 6, h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    """``(t, h, w, 3)`` uint8 frames of a smooth pattern drifting one pixel per frame, with noise.

    Args:
        t (int): Number of frames.
        h (int): Height.
        w (int): Width.
        seed (int): Noise seed.

    Returns:
        np.ndarray: The frames.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for i in range(t):
        r = 128 + 90 * np.sin((xx + i) / 5.0) * np.cos(yy / 7.0)
        g = 128 + 90 * np.cos((xx - 2 * i) / 6.0 + yy / 9.0)
        b = 128 + 60 * np.sin((xx + yy + 3 * i) / 8.0)
        img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(frames)


def write_frames(folder: Path, frames: np.ndarray, ext: str = '.png') -> Path:
    """Write frames as images ``00000.png, 00001.png, ...`` into ``folder``."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        assert cv2.imwrite(str(folder / f'{i:05d}{ext}'), frame[..., ::-1])
    return folder


def write_video(path: Path, frames: np.ndarray, fps: int = FPS, codec: str = 'libx264',
                audio: Optional[str] = None, audio_rate: int = 16000, lossless: bool = True,
                options: Optional[dict] = None) -> Path:
    """Encode frames (and optionally a sine tone) into a video with PyAV.

    Args:
        path (Path): Output file; the container follows the extension.
        frames (np.ndarray): ``(t, h, w, 3)`` uint8 RGB.
        fps (int): Frame rate.
        codec (str): Video encoder.
        audio (str, optional): Audio encoder (``'aac'``, ``'pcm_u8'``, ``'pcm_s16le'``, ...).
        audio_rate (int): Audio sample rate.
        lossless (bool): Encode H.264 losslessly in RGB (``libx264rgb``, crf 0) when
            ``codec`` is ``'libx264'``.
        options (dict, optional): Container options (e.g. ``{'movflags': 'faststart'}``).

    Returns:
        Path: ``path``.
    """
    import av

    t, h, w, _ = frames.shape
    container = av.open(str(path), 'w', options=options or {})
    if codec == 'libx264' and lossless:
        stream = container.add_stream('libx264rgb', rate=Fraction(fps))
        stream.pix_fmt = 'rgb24'
        stream.options = {'crf': '0', 'preset': 'ultrafast'}
    else:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.pix_fmt = 'yuv420p'
    stream.width, stream.height = w, h
    audio_stream = None
    if audio is not None:
        audio_stream = container.add_stream(audio, rate=audio_rate)
        audio_stream.layout = 'mono'
    sample = 0
    per_frame = audio_rate // fps
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
        frame.pts = i
        for packet in stream.encode(frame):
            container.mux(packet)
        if audio_stream is not None:
            tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(sample, sample + per_frame) /
                                audio_rate)
            aframe = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], format='flt',
                                                layout='mono')
            aframe.sample_rate = audio_rate
            aframe.pts = sample
            sample += per_frame
            for packet in audio_stream.encode(aframe):
                container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    if audio_stream is not None:
        for packet in audio_stream.encode(None):
            container.mux(packet)
    container.close()
    return path


def read_video(path: Path) -> np.ndarray:
    """All frames of a video as ``(t, h, w, 3)`` uint8 RGB."""
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format='rgb24') for f in container.decode(video=0)])


def probe(path: Path) -> dict:
    """Streams of a media file: codec names, frame rate, audio duration (seconds)."""
    import av

    with av.open(str(path)) as container:
        info = dict(video=None, audio=None, fps=None, audio_seconds=None, video_frames=None)
        if container.streams.video:
            v = container.streams.video[0]
            info.update(video=v.codec_context.name, fps=v.average_rate,
                        size=(v.codec_context.width, v.codec_context.height))
        if container.streams.audio:
            a = container.streams.audio[0]
            info['audio'] = a.codec_context.name
    if info['audio']:
        with av.open(str(path)) as container:
            samples = sum(f.samples for f in container.decode(audio=0))
            rate = container.streams.audio[0].codec_context.sample_rate
            info['audio_seconds'] = samples / rate
    return info


def tiny_net(seed: int = 0, **kwargs) -> nn.Module:
    """The plugin's RealBasicVSRNet at toy size (random weights, eval mode).

    Args:
        seed (int): Seed of the weights.
        **kwargs: Overrides of the toy settings.

    Returns:
        nn.Module: The network.
    """
    from realbasicvsr_plugin.models import RealBasicVSRNet

    settings = dict(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1,
                    dynamic_refine_thres=None)
    settings.update(kwargs)
    torch.manual_seed(seed)
    return RealBasicVSRNet(**settings).eval()


TINY_CONFIG = """
default_scope = 'realbasicvsr_plugin'
model = dict(
    type='realbasicvsr_plugin.RealBasicVSR',
    generator=dict(type='realbasicvsr_plugin.RealBasicVSRNet', mid_channels=4,
                   num_propagation_blocks=1, num_cleaning_blocks=1,
                   dynamic_refine_thres=None, scale=4),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    is_use_ema=True,
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.],
                           std=[255., 255., 255.]))
"""


def write_tiny_model(folder: Path, seed: int = 0, config_text: str = TINY_CONFIG):
    """A toy config and an MMagic-layout checkpoint (``generator.*`` and ``generator_ema.*``).

    The EMA weights are those of :func:`tiny_net` with ``seed``; the non-EMA weights differ,
    so a loader that takes the wrong ones is caught.

    Returns:
        tuple[Path, Path, nn.Module]: config, checkpoint and the network with the EMA weights.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / 'tiny_config.py'
    config.write_text(config_text)
    ema = tiny_net(seed)
    other = tiny_net(seed + 1)
    state = {f'generator_ema.{k}': v for k, v in ema.state_dict().items()}
    state.update({f'generator.{k}': v for k, v in other.state_dict().items()})
    checkpoint = folder / 'tiny.pth'
    torch.save({'state_dict': state, 'meta': {}}, checkpoint)
    return config, checkpoint, ema


# ------------------------------------------------------------------ checks of the helpers
def test_generated_clip_has_video_and_audio(tmp_path):
    frames = moving_frames(5, 32, 32)
    clip = write_video(tmp_path / 'clip.mp4', frames, audio='aac')
    info = probe(clip)
    assert info['video'] == 'h264' and info['audio'] == 'aac'
    assert info['fps'] == FPS
    assert 0.15 <= info['audio_seconds'] <= 0.5  # 5 frames at 25 fps = 0.2 s (+ AAC padding)
    # lossless RGB encoding: decoded frames equal the source
    np.testing.assert_array_equal(read_video(clip), frames)
