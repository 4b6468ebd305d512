"""Streaming: temporal chunks and spatial tiles with blended overlaps.

Claims:
* a chunked / tiled run loses, duplicates or reorders no frame and no pixel (checked with models
  whose output does not depend on context, where the result must equal the whole-clip run);
* the stream is consumed lazily: no more than ``max_seq_len`` frames are held, and the first
  results come out before the whole input is read;
* where the model does depend on context (a bidirectional recurrence, a spatial blur), overlap
  reduces the difference from the whole-clip / whole-frame result.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from realbasicvsr_plugin.apis.spatial_tiles import SpatialTiler, ramp_window, tile_starts
from realbasicvsr_plugin.apis.temporal_chunks import TemporalChunker, crossfade_weights

SCALE = 2


def per_frame_model(lqs: torch.Tensor) -> torch.Tensor:
    """(n, t, c, h, w) -> (n, t, c, 2h, 2w): each pixel on its own, no temporal context."""
    n, t, c, h, w = lqs.shape
    out = F.interpolate(lqs.flatten(0, 1) * 2 + 0.1, scale_factor=SCALE, mode='nearest')
    return out.view(n, t, c, h * SCALE, w * SCALE)


def bidirectional_recurrence(lqs: torch.Tensor, decay: float = 0.8) -> torch.Tensor:
    """A toy bidirectional recurrent model: mean of a forward and a backward running average.

    Like BasicVSR, each output frame depends on all earlier and all later frames, with an
    influence that fades with distance; cutting the sequence therefore changes the frames next
    to the cut.
    """
    t = lqs.shape[1]
    fwd, bwd = [None] * t, [None] * t
    state = lqs[:, 0]
    for i in range(t):
        state = decay * state + (1 - decay) * lqs[:, i]
        fwd[i] = state
    state = lqs[:, -1]
    for i in reversed(range(t)):
        state = decay * state + (1 - decay) * lqs[:, i]
        bwd[i] = state
    mixed = (torch.stack(fwd, 1) + torch.stack(bwd, 1)) / 2
    return per_frame_model(mixed)


def blur_model(lqs: torch.Tensor, passes: int = 4) -> torch.Tensor:
    """A model with spatial context: repeated 3x3 box blur (zero padding), then upsampling."""
    n, t, c, h, w = lqs.shape
    x = lqs.flatten(0, 1)
    kernel = torch.full((c, 1, 3, 3), 1 / 9.)
    for _ in range(passes):
        x = F.conv2d(x, kernel, padding=1, groups=c)
    return per_frame_model(x.view(n, t, c, h, w))


def frames(t: int, h: int = 6, w: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(3, h, w, generator=g) for _ in range(t)]


def run_chunked(inputs, fn, max_seq_len, overlap):
    return torch.stack(list(TemporalChunker(max_seq_len, overlap)(iter(inputs), fn)))


def whole(inputs, fn):
    return fn(torch.stack(inputs).unsqueeze(0))[0]


# ------------------------------------------------------------------ temporal chunks
@pytest.mark.parametrize('t', [1, 3, 7, 8, 9, 10, 17, 23])
@pytest.mark.parametrize('max_seq_len,overlap', [(1, 0), (4, 0), (4, 1), (4, 3), (5, 2), (8, 4)])
def test_chunking_keeps_every_frame_in_order(t, max_seq_len, overlap):
    """With a context-free model, any chunking gives exactly the whole-clip result."""
    inputs = frames(t)
    out = run_chunked(inputs, per_frame_model, max_seq_len, overlap)
    assert out.shape[0] == t
    torch.testing.assert_close(out, whole(inputs, per_frame_model), rtol=0, atol=1e-6)


def test_chunking_off_runs_the_model_once_on_the_whole_clip():
    inputs = frames(9)
    calls = []

    def fn(x):
        calls.append(x.shape[1])
        return bidirectional_recurrence(x)

    out = run_chunked(inputs, fn, None, 0)
    assert calls == [9]
    assert torch.equal(out, whole(inputs, bidirectional_recurrence))


def test_chunks_are_bounded_and_the_stream_is_consumed_lazily():
    """No chunk exceeds max_seq_len, and the first frames come out after max_seq_len are read."""
    max_seq_len, overlap, t = 6, 2, 40
    read = []
    chunk_lengths = []

    def source():
        for i, frame in enumerate(frames(t)):
            read.append(i)
            yield frame

    def fn(x):
        chunk_lengths.append(x.shape[1])
        return per_frame_model(x)

    stream = TemporalChunker(max_seq_len, overlap)(source(), fn)
    next(stream)
    assert len(read) == max_seq_len  # only one chunk was read before the first output
    rest = list(stream)
    assert len(rest) == t - 1
    assert max(chunk_lengths) == max_seq_len
    # every chunk after the first brings max_seq_len - overlap new frames (the last: the rest)
    assert len(chunk_lengths) == 1 + math.ceil((t - max_seq_len) / (max_seq_len - overlap))


def test_last_chunk_is_extended_back_to_full_length():
    """The tail of a video gets a full chunk of context, not a short remainder."""
    lengths = []

    def fn(x):
        lengths.append(x.shape[1])
        return per_frame_model(x)

    list(TemporalChunker(8, 2)(iter(frames(15)), fn))  # chunks: 0-8, 6-14, tail 14 -> 7-15
    assert lengths == [8, 8, 8]


def test_crossfade_weights_rise_linearly_and_stay_inside_0_1():
    w = crossfade_weights(3)
    torch.testing.assert_close(w, torch.tensor([0.25, 0.5, 0.75]))
    assert torch.all(w > 0) and torch.all(w < 1)


def test_temporal_overlap_reduces_the_chunk_boundary_difference():
    """Cross-faded overlaps bring a context-dependent model closer to its whole-clip output."""
    inputs = frames(30)
    reference = whole(inputs, bidirectional_recurrence)
    diffs = {}
    for overlap in (0, 2, 4):
        out = run_chunked(inputs, bidirectional_recurrence, 10, overlap)
        diffs[overlap] = (out - reference).abs().mean().item()
    assert diffs[0] > 0  # cutting the clip does change a recurrent model's output
    assert diffs[2] < diffs[0]
    assert diffs[4] < diffs[2]


@pytest.mark.parametrize('max_seq_len,overlap', [(-1, 0), (4, 4), (4, 5), (4, -1)])
def test_invalid_chunk_settings_are_refused(max_seq_len, overlap):
    with pytest.raises(ValueError, match='overlap|max_seq_len'):
        TemporalChunker(max_seq_len, overlap)


# ------------------------------------------------------------------ spatial tiles
@pytest.mark.parametrize('length,tile,overlap', [(10, 4, 1), (10, 4, 2), (7, 7, 2), (5, 8, 2),
                                                 (33, 16, 4), (17, 6, 3)])
def test_tiles_cover_the_frame_with_at_least_the_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    size = min(tile, length)
    assert starts[0] == 0 and starts[-1] + size == length
    for a, b in zip(starts, starts[1:]):
        assert a < b and a + size - b >= overlap


def test_ramp_windows_of_neighbours_sum_to_one_across_an_exact_overlap():
    ramp, size = 4, 12
    left = ramp_window(size, ramp, rise=False, fall=True)
    right = ramp_window(size, ramp, rise=True, fall=False)
    # right tile starts size - ramp pixels after the left one
    torch.testing.assert_close(left[-ramp:] + right[:ramp], torch.ones(ramp))
    assert torch.all(left[:-ramp] == 1) and torch.all(right[ramp:] == 1)


@pytest.mark.parametrize('h,w,tile,overlap', [(9, 13, 4, 1), (9, 13, 4, 2), (16, 16, 8, 0),
                                              (5, 20, 6, 3)])
def test_tiling_keeps_every_pixel_in_place(h, w, tile, overlap):
    """With a pixel-wise model, tiled output equals the whole-frame output."""
    lqs = torch.rand(1, 2, 3, h, w)
    out = SpatialTiler(tile, overlap)(lqs, per_frame_model)
    torch.testing.assert_close(out, per_frame_model(lqs), rtol=0, atol=1e-6)


def test_tiling_off_or_frame_within_one_tile_calls_the_model_once_on_the_frame():
    lqs = torch.rand(1, 2, 3, 8, 8)
    for tiler in (SpatialTiler(None), SpatialTiler(0), SpatialTiler(8, 2)):
        assert torch.equal(tiler(lqs, blur_model), blur_model(lqs))


def test_tile_overlap_reduces_the_seam_difference():
    lqs = torch.rand(1, 2, 3, 24, 24, generator=torch.Generator().manual_seed(1))
    reference = blur_model(lqs)
    diffs = {ov: (SpatialTiler(12, ov)(lqs, blur_model) - reference).abs().mean().item()
             for ov in (0, 2, 6)}
    assert diffs[0] > 0
    assert diffs[2] < diffs[0]
    assert diffs[6] < diffs[2]


@pytest.mark.parametrize('tile,overlap', [(-2, 0), (8, 5), (8, -1)])
def test_invalid_tile_settings_are_refused(tile, overlap):
    with pytest.raises(ValueError, match='tile'):
        SpatialTiler(tile, overlap)


# ------------------------------------------------------------------ scene cuts in the stream
def test_a_cut_ends_the_chunk_and_nothing_is_blended_across_it():
    # shot A (6 frames), a cut, shot B (5 frames): every model call lies within one shot, and
    # the frames of each shot equal the chunked run of that shot alone
    from realbasicvsr_plugin.apis.temporal_chunks import CUT
    shot_a, shot_b = frames(6, seed=1), frames(5, seed=2)
    calls = []

    def model(lqs):
        calls.append([id(f) for f in lqs[0]])
        return bidirectional_recurrence(lqs)

    chunker = TemporalChunker(4, 2)
    out = torch.stack(list(chunker(iter(shot_a + [CUT] + shot_b), model)))
    assert out.shape[0] == 11
    assert (out[:6] - run_chunked(shot_a, bidirectional_recurrence, 4, 2)).abs().max() < 1e-6
    assert (out[6:] - run_chunked(shot_b, bidirectional_recurrence, 4, 2)).abs().max() < 1e-6
    # without the cut the frames after it differ (the recurrence would carry shot A into B)
    joined = run_chunked(shot_a + shot_b, bidirectional_recurrence, 4, 2)
    assert (joined[6:] - out[6:]).abs().max() > 1e-3


def test_cuts_at_the_ends_and_back_to_back_give_every_frame_once():
    from realbasicvsr_plugin.apis.temporal_chunks import CUT
    a, b = frames(3, seed=3), frames(1, seed=4)
    out = list(TemporalChunker(4, 1)(iter([CUT] + a + [CUT, CUT] + b + [CUT]), per_frame_model))
    expected = [per_frame_model(f[None, None])[0, 0] for f in a + b]
    assert len(out) == 4 and all(torch.equal(o, e) for o, e in zip(out, expected))


def test_frames_are_handed_on_as_the_model_produces_them():
    # a model that yields its frames one by one: the first output is handed on before the
    # model has produced its second frame
    produced = []

    def lazy_model(lqs):
        for i in range(lqs.shape[1]):
            produced.append(i)
            yield per_frame_model(lqs[:, i:i + 1])[0, 0]

    stream = TemporalChunker(4, 0)(iter(frames(4)), lazy_model)
    next(stream)
    assert produced == [0]
    assert len(list(stream)) == 3
