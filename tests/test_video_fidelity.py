"""Faithful video: colour, timing, bit depth, rotation, metadata and other streams survive.

Claims (issue 12, parts 1-4):
* tagged BT.709, BT.2020 and full-range clips keep their tags, and flat colour patches of the
  output, decoded honouring its tags, match the same frames restored from PNG files (no video
  I/O) within 2.5 levels; an untagged SD clip is taken as BT.601 and its (HD-sized) output is
  encoded and tagged BT.601;
* a variable-frame-rate clip's output timestamps equal the input's within 1 ms, with the same
  frame count and the audio in sync; ``fps`` still forces a constant rate;
* a 10-bit gradient comes out (video and 16-bit PNG) with more than 256 levels per channel;
* rotation, container and stream metadata (title, language) and subtitle streams are carried
  where the container takes them; what is not carried is said in one line;
* malformed colour or rotation metadata falls back as documented with one warning line.

Every clip is made here with PyAV.
"""
import struct
from fractions import Fraction
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from av.video.reformatter import Interpolation

from realbasicvsr_plugin.apis import super_resolve
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.frame_readers import VideoFileReader
from realbasicvsr_plugin.apis.frame_writers import VideoFileWriter, default_pix_fmt
from realbasicvsr_plugin.apis.video_metadata import (conventional_colour,
                                                     rotation_from_display_matrix,
                                                     rotation_matrix, source_colour, Rotation)
from test_inference_utils import tiny_net, write_frames, write_tiny_model

# the test's own decoding table (untagged: BT.601, players' convention for SD like these clips)
SWS = {1: 'ITU709', 2: 'ITU601', 5: 'ITU601', 6: 'ITU601', 9: 'BT2020'}
#: swscale flags of the test's own conversions (accurate rounding; PyAV's default is 2-3 off)
ACCURATE = Interpolation.BILINEAR | Interpolation.ACCURATE_RND
ACCURATE_8BIT = ACCURATE | Interpolation.FULL_CHR_H_INT

#: Saturated and pale colours: a wrong matrix or range moves most of them by 5-40 levels.
PATCH_COLOURS = np.array([[200, 40, 90], [30, 160, 220], [240, 230, 40], [90, 90, 90],
                          [20, 200, 60], [250, 250, 250], [120, 30, 200], [180, 120, 60],
                          [16, 16, 16], [60, 200, 200], [230, 80, 20], [140, 180, 100],
                          [40, 40, 140], [210, 160, 200], [100, 60, 30], [170, 220, 240]],
                         np.uint8)
PATCH = 12  # input pixels per patch side


@pytest.fixture(scope='module')
def net():
    return tiny_net(seed=0)


class Bilinear4x(torch.nn.Module):
    """A stand-in network for the tests about timing and streams (fast; context-free)."""

    scale = 4

    def forward(self, lqs: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = lqs.shape
        out = F.interpolate(lqs.flatten(0, 1), scale_factor=4, mode='bilinear',
                            align_corners=False)
        return out.view(n, t, c, 4 * h, 4 * w)


@pytest.fixture(scope='module')
def upsampler():
    return Bilinear4x()


def patch_frames(t: int = 2) -> np.ndarray:
    """``(t, 48, 48, 3)``: a 4x4 grid of flat colour patches, the same in every frame."""
    grid = PATCH_COLOURS.reshape(4, 4, 3)
    frame = np.repeat(np.repeat(grid, PATCH, 0), PATCH, 1)
    return np.stack([frame] * t)


def make_clip(path: Path, frames: np.ndarray, codec: str = 'libx264', pix_fmt: str = 'yuv420p',
              matrix: Optional[int] = None, full_range: Optional[bool] = None,
              primaries: Optional[int] = None, transfer: Optional[int] = None,
              encode_matrix: str = 'ITU601', times_ms: Optional[Sequence[int]] = None,
              rotation: Optional[List[int]] = None, metadata: Optional[dict] = None,
              stream_metadata: Optional[dict] = None,
              subtitles: Sequence[Tuple[int, int, str]] = (), subtitle_codec: str = 'subrip',
              subtitle_language: str = 'eng', audio_layout: Optional[str] = None,
              audio_codec: str = 'aac', audio_start_ms: int = 0, crf: int = 0,
              attachment: Optional[bytes] = None,
              audio_languages: Sequence[Optional[str]] = (None,),
              chapters: Sequence[Tuple[int, int, str]] = ()) -> Path:
    """Encode RGB frames (uint8 or uint16) with the given tags, timing and streams.

    The YUV samples are made with ``encode_matrix`` (swscale's name) and the range; the tags
    written are ``matrix``/``primaries``/``transfer``/``full_range`` (None leaves one out).
    With ``audio_layout``, one audio stream per entry of ``audio_languages`` (tagged with it).
    ``chapters``: ``(start ms, end ms, title)`` each.
    """
    t, h, w, _ = frames.shape
    container = av.open(str(path), 'w')
    container.metadata.update(metadata or {})
    stream = container.add_stream(codec, rate=25)
    stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
    if codec in ('libx264', 'libx265'):
        stream.options = {'crf': str(crf), 'preset': 'ultrafast'} if codec == 'libx264' \
            else {'crf': str(crf), 'x265-params': 'log-level=error'}
    ctx = stream.codec_context
    for name, value in (('colorspace', matrix), ('color_primaries', primaries),
                        ('color_trc', transfer)):
        if value is not None:
            setattr(ctx, name, value)
    if full_range is not None:
        ctx.color_range = 2 if full_range else 1
    if times_ms is not None:
        ctx.time_base = stream.time_base = Fraction(1, 1000)
    if rotation is not None:
        stream.set_display_matrix(rotation)
    stream.metadata.update(stream_metadata or {})
    if attachment is not None:
        container.add_attachment('subtitle-font.ttf', 'font/ttf', attachment)
    sub = None
    if subtitles:
        sub = container.add_mux_stream(subtitle_codec)
        sub.time_base = Fraction(1, 1000)
        sub.metadata['language'] = subtitle_language
    audios = []
    for language in (audio_languages if audio_layout else ()):
        audio = container.add_stream(audio_codec, rate=16000)
        audio.layout = audio_layout
        if language:
            audio.metadata['language'] = language
        audios.append(audio)
    fmt = 'rgb48le' if frames.dtype == np.uint16 else 'rgb24'
    pending = list(subtitles)
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        frame = frame.reformat(format=pix_fmt, dst_colorspace=encode_matrix,
                               dst_color_range='JPEG' if full_range else 'MPEG',
                               interpolation=ACCURATE if '10' in pix_fmt else ACCURATE_8BIT)
        frame.pts = times_ms[i] if times_ms is not None else i
        for packet in stream.encode(frame):
            container.mux(packet)
        now = times_ms[i] if times_ms is not None else i * 40
        while sub is not None and pending and pending[0][0] <= now:
            start, length, text = pending.pop(0)
            data = text.encode()
            if subtitle_codec == 'mov_text':
                data = struct.pack('>H', len(data)) + data
            packet = av.Packet(data)
            packet.stream, packet.time_base = sub, Fraction(1, 1000)
            packet.pts = packet.dts = start
            packet.duration = length
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    for audio in audios:
        last = (times_ms[-1] if times_ms is not None else (t - 1) * 40) + 40
        channels = len(audio.layout.channels)
        samples = 16 * (last - audio_start_ms)
        tone = (0.2 * np.sin(np.arange(samples) / 5.0)).astype(np.float32)
        aframe = av.AudioFrame.from_ndarray(np.stack([tone] * channels), format='fltp',
                                            layout=audio_layout)
        aframe.sample_rate, aframe.pts = 16000, 16 * audio_start_ms
        for packet in audio.encode(aframe):
            container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
    if chapters:
        container.set_chapters([dict(id=i + 1, start=a, end=b, time_base=Fraction(1, 1000),
                                     metadata={'title': title})
                                for i, (a, b, title) in enumerate(chapters)])
    container.close()
    return path


def decode_honouring_tags(path: Path, fmt: str = 'rgb24') -> Tuple[np.ndarray, av.VideoFrame]:
    """All frames as RGB, converted with the matrix and range the file is tagged with."""
    frames, first = [], None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            first = first or frame
            matrix = SWS[frame.colorspace]
            rng = 'JPEG' if frame.color_range == 2 else 'MPEG'
            flags = ACCURATE if frame.format.components[0].bits > 8 else ACCURATE_8BIT
            frames.append(frame.reformat(format=fmt, src_colorspace=matrix, src_color_range=rng,
                                         interpolation=flags).to_ndarray())
    return np.stack(frames), first


def patch_means(frames: np.ndarray, scale: int = 4, margin: int = 12) -> np.ndarray:
    """Mean colour of the inside of every patch: ``(t, 16, 3)``."""
    size = PATCH * scale
    means = []
    for row in range(4):
        for col in range(4):
            y, x = row * size + margin, col * size + margin
            means.append(frames[:, y:y + size - 2 * margin, x:x + size - 2 * margin]
                         .astype(np.float64).mean(axis=(1, 2)))
    return np.stack(means, 1)


def frame_times(path: Path) -> List[float]:
    with av.open(str(path)) as container:
        return [float(f.time) for f in container.decode(video=0)]


# ------------------------------------------------------------------ part 1: colour
COLOUR_CASES = [
    # id, tags written (matrix, full range, primaries, transfer), matrix the samples are made with
    ('bt709 limited', (1, False, 1, 1), 'ITU709'),
    ('bt601 full range', (6, True, 6, 6), 'ITU601'),
    ('bt2020 limited', (9, False, 9, 14), 'BT2020'),
]


@pytest.mark.parametrize('case,tags,encode_matrix', COLOUR_CASES, ids=[c[0] for c in COLOUR_CASES])
def test_tagged_clips_keep_their_tags_and_their_colours(case, tags, encode_matrix, net,
                                                          tmp_path):
    matrix, full, primaries, transfer = tags
    frames = patch_frames()
    clip = make_clip(tmp_path / 'in.mp4', frames, matrix=matrix, full_range=full,
                     primaries=primaries, transfer=transfer, encode_matrix=encode_matrix)
    super_resolve(clip, tmp_path / 'out.mp4', model=net, device='cpu')
    out, first = decode_honouring_tags(tmp_path / 'out.mp4')
    assert (first.colorspace, first.color_range == 2, first.color_primaries,
            first.color_trc) == tags
    reference = restored_from_png(clip, net, tmp_path)
    diff = np.abs(patch_means(out) - patch_means(reference))
    assert diff.max() <= 2.5, f'{case}: patch colours differ by up to {diff.max():.2f} levels'


def restored_from_png(clip: Path, net, tmp_path: Path) -> np.ndarray:
    """The clip's frames (decoded honouring its tags) restored from PNG files: no video I/O."""
    frames, _ = decode_honouring_tags(clip)
    super_resolve(write_frames(tmp_path / 'png_in', frames), tmp_path / 'png_out', model=net,
                  device='cpu')
    return np.stack([decode_png(p) for p in sorted((tmp_path / 'png_out').glob('*.png'))])


def decode_png(path: Path) -> np.ndarray:
    import cv2
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]


def test_wrong_matrix_would_be_caught(net, tmp_path):
    """The patch check is sensitive: decoding BT.709 samples as BT.601 misses by far more."""
    frames = patch_frames(1)
    clip = make_clip(tmp_path / 'in.mp4', frames, matrix=1, primaries=1, transfer=1,
                     full_range=False, encode_matrix='ITU709')
    with av.open(str(clip)) as container:
        frame = next(container.decode(video=0))
        wrong = frame.reformat(format='rgb24', src_colorspace='ITU601',
                               src_color_range='MPEG').to_ndarray()
    assert np.abs(patch_means(wrong[None], scale=1, margin=2) -
                  patch_means(frames, scale=1, margin=2)).max() > 10


def test_untagged_sd_clip_is_bt601_and_its_hd_sized_output_is_tagged_bt601(net, tmp_path):
    frames = patch_frames()
    clip = make_clip(tmp_path / 'in.mp4', frames, encode_matrix='ITU601')  # no tags at all
    with av.open(str(clip)) as container:
        assert container.streams.video[0].codec_context.colorspace == 2  # untagged indeed
    super_resolve(clip, tmp_path / 'out.mkv', model=net, device='cpu')
    out, first = decode_honouring_tags(tmp_path / 'out.mkv')
    assert (first.colorspace, first.color_range, first.color_primaries, first.color_trc) == \
        (6, 1, 6, 6)  # BT.601 (SMPTE 170M), limited: what was assumed, written out
    reference = restored_from_png(clip, net, tmp_path)
    assert np.abs(patch_means(out) - patch_means(reference)).max() <= 2.5


def test_untagged_convention_is_bt601_for_sd_and_bt709_for_hd():
    assert conventional_colour(720, 480).matrix == 6
    assert conventional_colour(720, 576).matrix == 5  # PAL: BT.470BG
    hd = conventional_colour(1280, 720)
    assert (hd.matrix, hd.primaries, hd.transfer, hd.full_range) == (1, 1, 1, False)
    assert conventional_colour(1920, 1080).matrix == 1
    spec, warning = source_colour(2, 0, 2, 2, 'yuvj420p', 320, 240)
    assert spec.full_range and spec.assumed and warning is None


def test_partial_and_malformed_colour_tags_are_completed_as_documented():
    spec, warning = source_colour(1, 0, 2, 2, 'yuv420p', 64, 48)  # matrix alone
    assert (spec.matrix, spec.primaries, spec.transfer, spec.full_range) == (1, 1, 1, False)
    assert warning is None
    spec, warning = source_colour(2, 1, 9, 14, 'yuv420p', 64, 48)  # primaries alone
    assert spec.matrix == 9 and warning is None
    spec, warning = source_colour(1, 7, 1, 1, 'yuv420p', 64, 48)  # a range tag out of bounds
    assert not spec.full_range and 'range tag 7' in warning
    spec, warning = source_colour(3, 1, 2, 2, 'yuv420p', 1920, 1080)  # reserved matrix, HD
    assert spec.matrix == 1 and 'reserved' in warning
    with pytest.raises(ValueError, match='36'):
        rotation_from_display_matrix(b'\x00' * 12)


def test_untagged_hd_clip_is_read_and_written_as_bt709(tmp_path):
    """(Reader and writer alone: an HD frame through the network would take minutes here.)"""
    frame = np.repeat(np.repeat(PATCH_COLOURS[None, :8], 90, 0), 160, 1)  # 720x1280
    clip = make_clip(tmp_path / 'hd.mp4', frame[None], encode_matrix='ITU709')  # untagged
    with VideoFileReader(clip) as reader:
        colour = reader.properties.colour
        image = next(iter(reader)).image
    assert (colour.matrix, colour.primaries, colour.transfer, colour.assumed) == (1, 1, 1, True)
    centres = image[45::90, 80::160].reshape(-1, 3).astype(int)
    assert np.abs(centres - PATCH_COLOURS[:8].astype(int)).max() <= 2
    with VideoFileWriter(tmp_path / 'out.mp4', (1280, 720), 25,
                         source=reader.properties) as writer:
        writer.write(image)
    _, first = decode_honouring_tags(tmp_path / 'out.mp4')
    assert (first.colorspace, first.color_primaries, first.color_trc) == (1, 1, 1)


@pytest.mark.parametrize('codec,bits,pix_fmt,lost', [
    ('libx264', 8, 'yuv420p', False), ('libx264', 10, 'yuv420p10le', False),
    ('libx264', 12, 'yuv420p10le', True), ('libx265', 12, 'yuv420p12le', False),
    ('mpeg4', 10, 'yuv420p', True)])
def test_output_keeps_the_source_bit_depth_where_the_codec_can(codec, bits, pix_fmt, lost):
    chosen, note = default_pix_fmt(codec, bits)
    assert chosen == pix_fmt and (note is not None) == lost


def test_images_make_a_tagged_video(upsampler, tmp_path):
    """An RGB source has no matrix to keep: the output is encoded and tagged by its size."""
    super_resolve(write_frames(tmp_path / 'in', patch_frames()), tmp_path / 'out.mp4',
                  model=upsampler, device='cpu')
    _, first = decode_honouring_tags(tmp_path / 'out.mp4')
    assert (first.colorspace, first.color_range) == (6, 1)  # 192x192 output: SD, BT.601


# ------------------------------------------------------------------ part 2: timing
VFR_MS = [0, 40, 80, 150, 200, 260, 300, 400, 450, 500, 600, 700]


@pytest.mark.parametrize('offset_ms', [0, 500])
def test_vfr_clip_keeps_its_timestamps_and_the_audio_stays_in_sync(offset_ms, upsampler,
                                                                   tmp_path):
    times = [t + offset_ms for t in VFR_MS]
    clip = make_clip(tmp_path / 'in.mp4', patch_frames(len(times)), times_ms=times,
                     audio_layout='mono', crf=20)
    source_times = frame_times(clip)
    assert source_times[-1] == pytest.approx(0.7 + offset_ms / 1000)
    super_resolve(clip, tmp_path / 'out.mp4', model=upsampler, device='cpu', max_seq_len=5,
                  overlap=1)
    out_times = frame_times(tmp_path / 'out.mp4')
    assert len(out_times) == len(source_times)
    assert np.abs(np.array(out_times) - source_times).max() < 1e-3
    with av.open(str(clip)) as a, av.open(str(tmp_path / 'out.mp4')) as b:
        src_audio = a.streams.audio[0]
        out_audio = b.streams.audio[0]
        assert float(out_audio.start_time * out_audio.time_base) == \
            pytest.approx(float(src_audio.start_time * src_audio.time_base), abs=1e-3)


def test_a_file_that_starts_late_as_a_whole_is_moved_to_0_keeping_the_sync(upsampler,
                                                                           tmp_path):
    # as an MPEG-TS recording: every stream starts late (here the audio at 1.4 s, the video
    # 20 ms after it)
    times = [1420 + t for t in VFR_MS[:6]]
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(6), times_ms=times, audio_layout='mono',
                     audio_start_ms=1400, crf=20)
    with av.open(str(clip)) as container:
        assert container.start_time / 1e6 == pytest.approx(1.4, abs=1e-3)
    source_times = frame_times(clip)
    super_resolve(clip, tmp_path / 'out.mkv', model=upsampler, device='cpu')
    out_times = frame_times(tmp_path / 'out.mkv')
    assert np.abs(np.subtract(out_times, source_times) + 1.4).max() < 1e-3  # video at 0.02
    with av.open(str(tmp_path / 'out.mkv')) as container:
        audio = container.streams.audio[0]
        assert float(audio.start_time * audio.time_base) == pytest.approx(0, abs=1e-3)


def test_fps_still_forces_a_constant_rate(upsampler, tmp_path):
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(len(VFR_MS)), times_ms=VFR_MS, crf=20)
    super_resolve(clip, tmp_path / 'out.mkv', model=upsampler, device='cpu', fps=10)
    out = frame_times(tmp_path / 'out.mkv')
    assert out == pytest.approx([i / 10 for i in range(len(VFR_MS))], abs=1e-3)


def test_frame_range_keeps_the_gaps_between_frames_and_shifts_subtitles_alike(upsampler,
                                                                              tmp_path):
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(len(VFR_MS)), times_ms=VFR_MS, crf=20,
                     subtitles=[(100, 20, 'before'), (400, 80, 'inside'),
                                (650, 40, 'after')])
    super_resolve(clip, tmp_path / 'out.mkv', model=upsampler, device='cpu', start=3, end=8)
    out = np.array(frame_times(tmp_path / 'out.mkv'))
    expected = np.array(VFR_MS[3:8]) / 1000
    assert len(out) == 5
    assert np.abs((out - out[0]) - (expected - expected[0])).max() < 1e-3
    assert out[0] == pytest.approx(0, abs=1e-3)  # the range starts where the source starts
    with av.open(str(tmp_path / 'out.mkv')) as container:
        subs = [(bytes(p), float(p.pts * p.time_base))
                for p in container.demux(container.streams.subtitles[0]) if p.size]
    assert subs == [(b'inside', pytest.approx(0.4 - 0.15, abs=1e-3))]


# ------------------------------------------------------------------ part 3: bit depth
def gradient_frames(t: int = 2, h: int = 32, w: int = 64) -> np.ndarray:
    """A smooth 16-bit RGB gradient (every channel spans most of the range)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ramp = (xx * h + yy) / (w * h - 1)  # a different value at every pixel
    r = 4000 + 57000 * ramp
    g = 61000 - 57000 * ramp
    b = 4000 + 57000 * (yy * w + xx) / (w * h - 1)
    frame = np.stack([r, g, b], -1).round().astype(np.uint16)
    return np.stack([frame] * t)


def test_10bit_source_is_decoded_at_16_bits(tmp_path):
    clip = make_clip(tmp_path / 'in.mkv', gradient_frames(), codec='libx265',
                     pix_fmt='yuv420p10le', matrix=1, primaries=1, transfer=1,
                     full_range=False, encode_matrix='ITU709')
    with VideoFileReader(clip) as reader:
        assert reader.bit_depth == 16 and reader.properties.bit_depth == 10
        image = next(iter(reader)).image
    assert image.dtype == np.uint16
    assert all(len(np.unique(image[..., c])) > 256 for c in range(3))


def test_10bit_gradient_comes_out_with_more_than_256_levels(net, tmp_path):
    clip = make_clip(tmp_path / 'in.mp4', gradient_frames(), pix_fmt='yuv420p10le', matrix=1,
                     primaries=1, transfer=1, full_range=False, encode_matrix='ITU709')
    super_resolve(clip, tmp_path / 'out.mp4', model=net, device='cpu')
    with av.open(str(tmp_path / 'out.mp4')) as container:
        assert container.streams.video[0].codec_context.pix_fmt == 'yuv420p10le'
    out, _ = decode_honouring_tags(tmp_path / 'out.mp4', fmt='rgb48le')
    levels = [len(np.unique(out[0, ..., c])) for c in range(3)]
    assert min(levels) > 256, levels
    # frame folders: 16-bit PNG by default for such a source
    super_resolve(clip, tmp_path / 'frames', model=net, device='cpu')
    png = decode_png(sorted((tmp_path / 'frames').glob('*.png'))[0])
    assert png.dtype == np.uint16
    assert min(len(np.unique(png[..., c])) for c in range(3)) > 256


def test_8bit_source_stays_8bit_and_png_bit_depth_can_be_chosen(upsampler, tmp_path):
    clip = make_clip(tmp_path / 'in.mp4', patch_frames(2))
    super_resolve(clip, tmp_path / 'out.mp4', model=upsampler, device='cpu')
    with av.open(str(tmp_path / 'out.mp4')) as container:
        assert container.streams.video[0].codec_context.pix_fmt == 'yuv420p'
    super_resolve(clip, tmp_path / 'f8', model=upsampler, device='cpu')
    super_resolve(clip, tmp_path / 'f16', model=upsampler, device='cpu', png_bit_depth=16)
    png8 = decode_png(sorted((tmp_path / 'f8').glob('*.png'))[0])
    png16 = decode_png(sorted((tmp_path / 'f16').glob('*.png'))[0])
    assert png8.dtype == np.uint8 and png16.dtype == np.uint16
    assert np.abs(png16.astype(float) / 257 - png8).max() <= 0.51


def test_16bit_png_frames_are_read_at_16_bits(upsampler, tmp_path):
    import cv2
    folder = tmp_path / 'in'
    folder.mkdir()
    for i, frame in enumerate(gradient_frames()):
        cv2.imwrite(str(folder / f'{i:03d}.png'), frame[..., ::-1])
    super_resolve(folder, tmp_path / 'out', model=upsampler, device='cpu')
    png = decode_png(sorted((tmp_path / 'out').glob('*.png'))[0])
    assert png.dtype == np.uint16 and len(np.unique(png[..., 0])) > 256


# ------------------------------------------------------------------ part 4: metadata, streams
ROT90 = rotation_matrix(Rotation(90))


@pytest.mark.parametrize('rotation', [Rotation(90), Rotation(270), Rotation(180, hflip=True)])
def test_display_matrix_round_trips(rotation):
    assert rotation_from_display_matrix(struct.pack('=9i', *rotation_matrix(rotation))) == \
        rotation


@pytest.mark.parametrize('ext', ['.mp4', '.mkv'])
def test_rotation_metadata_and_subtitles_are_carried(ext, upsampler, tmp_path):
    codec = 'mov_text' if ext == '.mp4' else 'subrip'
    clip = make_clip(tmp_path / f'in{ext}', patch_frames(4), rotation=ROT90,
                     metadata={'title': 'A phone video'},
                     stream_metadata={'language': 'fra', 'title': 'main camera'},
                     subtitles=[(40, 80, 'Bonjour')], subtitle_codec=codec,
                     audio_layout='mono')
    summary = super_resolve(clip, tmp_path / f'out{ext}', model=upsampler, device='cpu')
    assert summary.warnings == []
    with av.open(str(tmp_path / f'out{ext}')) as container:
        assert container.metadata.get('title') == 'A phone video'
        video = container.streams.video[0]
        assert video.language == 'fra'
        assert next(container.decode(video=0)).rotation == 90
    with av.open(str(tmp_path / f'out{ext}')) as container:
        sub = container.streams.subtitles[0]
        assert sub.language == 'eng' and container.streams.audio
        texts = [(bytes(p), p.pts * p.time_base) for p in container.demux(sub) if p.size > 2]
        assert len(texts) == 1 and b'Bonjour' in texts[0][0]
        assert float(texts[0][1]) == pytest.approx(0.04, abs=1e-3)


def chapters_ms(path: Path) -> List[Tuple[int, int, str]]:
    """A file's chapters as ``(start ms, end ms, title)``."""
    with av.open(str(path)) as container:
        return [(round(float(c['start'] * c['time_base']) * 1000),
                 round(float(c['end'] * c['time_base']) * 1000), c['metadata'].get('title'))
                for c in container.chapters()]


#: Chapters of a 10-frame clip at 25 fps (0.4 s).
CHAPTERS = [(0, 120, 'opening'), (120, 280, 'middle'), (280, 400, 'closing')]


@pytest.mark.parametrize('ext', ['.mkv', '.mp4'])
def test_chapters_are_carried_by_whole_ranged_and_segmented_runs(ext, upsampler, tmp_path):
    clip = make_clip(tmp_path / f'in{ext}', patch_frames(10), chapters=CHAPTERS)
    assert chapters_ms(clip) == CHAPTERS
    whole = super_resolve(clip, tmp_path / f'whole{ext}', model=upsampler, device='cpu')
    assert whole.warnings == [] and chapters_ms(tmp_path / f'whole{ext}') == CHAPTERS
    # a long job written in closed segments (joined at the end) keeps them too
    super_resolve(clip, tmp_path / f'parts{ext}', model=upsampler, device='cpu',
                  segment_frames=3, max_seq_len=4, overlap=1)
    assert chapters_ms(tmp_path / f'parts{ext}') == CHAPTERS
    # frames 4-7 (0.16-0.32 s): moved to time 0, cut to the range, the opening dropped
    for name, segments in (('range', 0), ('range_parts', 2)):
        super_resolve(clip, tmp_path / f'{name}{ext}', model=upsampler, device='cpu', start=4,
                      end=8, segment_frames=segments, max_seq_len=4, overlap=1)
        assert chapters_ms(tmp_path / f'{name}{ext}') == [(0, 120, 'middle'),
                                                          (120, 160, 'closing')], name


def test_attachments_go_into_matroska_and_are_reported_elsewhere(upsampler, tmp_path):
    font = b'not really a font, but bytes to carry' * 4
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(2), attachment=font,
                     subtitles=[(0, 40, 'Hi')])
    assert super_resolve(clip, tmp_path / 'out.mkv', model=upsampler,
                         device='cpu').warnings == []
    with av.open(str(tmp_path / 'out.mkv')) as container:
        attachments = [s for s in container.streams if s.type == 'attachment']
        assert len(attachments) == 1 and bytes(attachments[0].data) == font
        assert attachments[0].metadata.get('filename') == 'subtitle-font.ttf'
    summary = super_resolve(clip, tmp_path / 'out.mp4', model=upsampler, device='cpu')
    assert len(summary.warnings) == 1 and '1 attachment(s)' in summary.warnings[0]


def test_what_cannot_be_carried_is_said_in_one_line(model_args, tmp_path, capsys):
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(3), subtitles=[(0, 80, 'Hi')],
                     rotation=ROT90)
    code = main([str(clip), str(tmp_path / 'out.avi'), *model_args, '--codec', 'mpeg4'])
    err = capsys.readouterr().err
    assert code == 0, err
    warnings = [line for line in err.splitlines() if 'warning' in line]
    assert len(warnings) == 1, err
    assert 'subtitle stream #1 (srt, eng)' in warnings[0], warnings[0]
    assert 'rotation' in warnings[0]


def test_audio_is_transcoded_in_the_sources_own_layout_and_place(upsampler, tmp_path):
    clip = make_clip(tmp_path / 'in.mov', patch_frames(20), audio_layout='3.0',
                     audio_codec='pcm_u8', audio_start_ms=400)  # MP4 cannot hold pcm_u8
    summary = super_resolve(clip, tmp_path / 'out.mp4', model=upsampler, device='cpu')
    assert summary.audio == 'transcode'
    with av.open(str(tmp_path / 'out.mp4')) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.layout.name == '3.0'  # the stream's own, not a table's 2.1
        start = float(audio.start_time * audio.time_base)
    assert start == pytest.approx(0.4, abs=1024 / 16000 + 1e-3)  # (AAC priming: 1024 samples)


# ------------------------------------------------------------------ malformed metadata
@pytest.fixture(scope='module')
def model_args(tmp_path_factory):
    config, checkpoint, _ = write_tiny_model(tmp_path_factory.mktemp('model'))
    return ['--config', str(config), '--checkpoint', str(checkpoint), '--no-progress']


MALFORMED = [
    # id, clip options, words of the warning
    ('RGB matrix tag on a YUV stream', dict(matrix=0), ['colour matrix', 'RGB']),
    ('YCgCo matrix', dict(codec='ffv1', matrix=8, ext='.mkv'), ['colour matrix', 'YCgCo']),
    ('45 degree display matrix', dict(rotation=[46341, -46341, 0, 46341, 46341, 0, 0, 0,
                                                1 << 30]), ['display matrix', '45']),
    ('scaling display matrix', dict(rotation=[2 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30]),
     ['display matrix', 'not a rotation']),
]


@pytest.mark.parametrize('case,options,needles', MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_colour_or_rotation_falls_back_with_one_warning(case, options, needles,
                                                                  model_args, tmp_path, capsys):
    options = dict(options)
    ext = options.pop('ext', '.mp4')
    frames = patch_frames(2)
    clip = make_clip(tmp_path / f'in{ext}', frames, **options)
    out = tmp_path / 'out.mkv'
    code = main([str(clip), str(out), *model_args])
    err = capsys.readouterr().err
    assert code == 0, err
    assert 'Traceback' not in err
    warnings = [line for line in err.splitlines() if line.startswith('realbasicvsr: warning: ')]
    assert len(warnings) == 1, err
    for needle in needles:
        assert needle in warnings[0], warnings[0]
    _, first = decode_honouring_tags(out)
    assert first.rotation == 0  # written as coded
    if 'matrix' in options:  # the documented fallback: the convention for an SD frame
        assert first.colorspace == 6
