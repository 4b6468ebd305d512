"""Resume after a crash: closed segments in a work folder, joined by stream copy.

Claims:
* the segments sit on the temporal chunk grid, so restoring in segments gives exactly the frames
  of one uninterrupted streaming pass (tested on the plan for many settings, and end to end on
  PNG output, which is lossless);
* a run killed with SIGKILL part way and resumed with ``--resume`` gives, frame for frame
  (decoded), the same video as an uninterrupted run with the same settings, keeps the segments
  that were done, carries the audio, and removes its work folder;
* ``--resume`` with no work folder, or with one from other settings (input, model, options),
  says so in one line and starts nothing; a run without ``--resume`` does not silently discard
  an interrupted run's work;
* a segment that was not completely written (no record, or cut short) is restored again;
* a job written in segments keeps what a job written in one go keeps: the timestamps of a
  variable-frame-rate clip with a start offset (within 1 ms of the input's), a frame range's
  timestamps and audio span, a forced constant rate, and the rotation, metadata, subtitle and
  audio streams of the source, in sync, with the same warnings.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from realbasicvsr_plugin.apis import InferenceError, super_resolve
from realbasicvsr_plugin.apis import segments as seg
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.temporal_chunks import TemporalChunker
from test_inference_utils import (moving_frames, probe, read_video, write_frames,
                                  write_tiny_model, write_video)
from test_video_fidelity import ROT90, VFR_MS, Bilinear4x, frame_times, make_clip, patch_frames

#: Toy streaming settings: chunks of 6 frames overlapping by 2 (period 4), segments of 8 frames.
#: Videos are encoded losslessly (x264, crf 0) where frames are compared: x264's lossy output
#: is not the same from one run to the next even for identical frames (measured here, also
#: between two uninterrupted runs), so only a lossless encoding lets the decoded frames show
#: that the restored frames are the same.
STREAM = dict(max_seq_len=6, overlap=2, segment_frames=8, crf=0)
STREAM_ARGS = ['--max-seq-len', '6', '--overlap', '2', '--segment-frames', '8', '--crf', '0']


# ------------------------------------------------------------------------------ the plan
def window_model(chunk: torch.Tensor) -> torch.Tensor:
    """A stand-in network whose every output depends on the whole window it is given."""
    return chunk * 0.5 + chunk.mean(dim=1, keepdim=True) + chunk.shape[1] * 0.01


class _F:
    def __init__(self, index, image):
        self.index, self.image = index, image


def segmented(frames, plan):
    """The segment orchestration of ``super_resolve``, on tensors."""
    out = {}
    chunker = TemporalChunker(plan.chunk, plan.overlap)
    items = [_F(i, f) for i, f in enumerate(frames)]
    for k, inputs, flag in seg.segment_inputs(iter(items), plan, 0, 0):
        first, stop = plan.outputs(k)
        kept = []

        def tensors():
            for item in inputs:
                kept.append(item.index)
                yield item.image

        for j, result in enumerate(chunker(tensors(), window_model)):
            index = kept[j]
            if index >= first and (index < stop or flag.last):
                assert index not in out
                out[index] = result
    return [out[i] for i in range(len(frames))]


@pytest.mark.parametrize('chunk,overlap,periods', [(6, 2, 2), (6, 2, 1), (5, 0, 3), (8, 3, 2),
                                                    (4, 3, 1)])
def test_segments_give_exactly_one_uninterrupted_pass(chunk, overlap, periods):
    plan = seg.SegmentPlan(chunk, overlap, periods)
    torch.manual_seed(0)
    for n in range(1, 4 * plan.length + 2 * chunk):
        frames = list(torch.rand(n, 1, 2, 2))
        whole = list(TemporalChunker(chunk, overlap)(iter(frames), window_model))
        parts = segmented(frames, plan)
        assert len(parts) == n
        for a, b in zip(whole, parts):
            assert torch.equal(a, b), (n, chunk, overlap, periods)


def test_plan_rounds_to_chunk_periods_and_needs_chunks():
    plan = seg.plan_segments(32, 4, 1000)
    assert plan.period == 28 and plan.length == 1008 and plan.inputs(1) == (980, 2020)
    assert seg.plan_segments(0, 0, 1000) is None and seg.plan_segments(32, 4, 0) is None


# ------------------------------------------------------------------------------ end to end
@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    config, checkpoint, _ = write_tiny_model(tmp_path_factory.mktemp('model'))
    return config, checkpoint


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp('clip')
    return write_video(root / 'clip.mp4', moving_frames(20, 16, 16), audio='aac')


def api(tiny, **kwargs):
    config, checkpoint = tiny
    return dict(config=str(config), checkpoint=str(checkpoint), device='cpu', **kwargs)


def test_segmented_png_output_equals_one_pass(tiny, clip, tmp_path):
    one = super_resolve(clip, tmp_path / 'one', **api(tiny, **{**STREAM, 'segment_frames': 0}))
    parts = super_resolve(clip, tmp_path / 'parts', **api(tiny, **STREAM))
    assert one.frames == parts.frames == 20
    names = sorted(os.listdir(tmp_path / 'one'))
    assert names == sorted(os.listdir(tmp_path / 'parts')) and len(names) == 20
    import cv2
    for name in names:
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'one' / name)),
                                      cv2.imread(str(tmp_path / 'parts' / name)))
    assert sorted(os.listdir(tmp_path)) == ['one', 'parts']  # work folders removed


class Stop(KeyboardInterrupt):
    pass


def interrupt_after(monkeypatch, segments: int):
    """Make the run stop (as Ctrl-C does) once ``segments`` segments are recorded."""
    original = seg.WorkFolder.mark_done

    def mark_done(self, k, *args, **kwargs):
        record = original(self, k, *args, **kwargs)
        if k + 1 >= segments:
            raise Stop()
        return record

    monkeypatch.setattr(seg.WorkFolder, 'mark_done', mark_done)
    return lambda: monkeypatch.setattr(seg.WorkFolder, 'mark_done', original)


def test_interrupted_then_resumed_equals_uninterrupted(tiny, clip, tmp_path, monkeypatch):
    full = super_resolve(clip, tmp_path / 'full.mp4', **api(tiny, **STREAM))
    out = tmp_path / 'out.mp4'
    undo = interrupt_after(monkeypatch, 2)
    with pytest.raises(Stop):
        super_resolve(clip, out, **api(tiny, **STREAM))
    undo()
    work = seg.work_folder_for(out)
    assert not out.exists() and sorted(p.name for p in work.glob('*.done')) == [
        'segment_00000.done', 'segment_00001.done']
    again = super_resolve(clip, out, resume=True, **api(tiny, **STREAM))
    assert again.resumed_frames == 16 and again.frames == 20 and again.audio == 'copy'
    np.testing.assert_array_equal(read_video(out), read_video(tmp_path / 'full.mp4'))
    assert full.audio == 'copy' and probe(out)['audio'] == 'aac'
    # the resumed job keeps the timeline of the uninterrupted one, and the audio in place
    np.testing.assert_allclose(frame_times(out), frame_times(tmp_path / 'full.mp4'), atol=1e-3)
    np.testing.assert_allclose(frame_times(out), frame_times(clip), atol=1e-3)
    assert audio_spans(out) == pytest.approx(audio_spans(tmp_path / 'full.mp4'), abs=1e-3)
    assert not work.exists()


def test_an_incomplete_segment_is_restored_again(tiny, clip, tmp_path, monkeypatch):
    out = tmp_path / 'out.mp4'
    super_resolve(clip, tmp_path / 'full.mp4', **api(tiny, **STREAM))
    undo = interrupt_after(monkeypatch, 3)
    with pytest.raises(Stop):
        super_resolve(clip, out, **api(tiny, **STREAM))
    undo()
    work = seg.work_folder_for(out)
    last = work / 'segment_00002.mp4'
    last.write_bytes(last.read_bytes()[:len(last.read_bytes()) // 3])  # power loss: cut short
    (work / 'segment_00001.done').unlink()  # and a record that never reached the disk
    again = super_resolve(clip, out, resume=True, **api(tiny, **STREAM))
    assert again.resumed_frames == 8
    np.testing.assert_array_equal(read_video(out), read_video(tmp_path / 'full.mp4'))


def interrupted_work(tiny, clip, out, monkeypatch, **kwargs):
    undo = interrupt_after(monkeypatch, 1)
    with pytest.raises(Stop):
        super_resolve(clip, out, **api(tiny, **{**STREAM, **kwargs}))
    undo()
    work = seg.work_folder_for(out)
    return work, {p.name: p.stat().st_mtime_ns for p in work.iterdir()}


def test_resume_with_other_settings_starts_nothing(tiny, clip, tmp_path, monkeypatch):
    out = tmp_path / 'out.mp4'
    work, before = interrupted_work(tiny, clip, out, monkeypatch)
    other_config, other_checkpoint, _ = write_tiny_model(tmp_path / 'other', seed=5)
    cases = [
        (dict(api(tiny, **{**STREAM, 'max_seq_len': 8})), 'options'),
        (dict(api(tiny, **{**STREAM, 'crf': 20})), 'options'),
        (dict(api(tiny, **STREAM), start=2), 'start'),
        (dict(config=str(other_config), checkpoint=str(other_checkpoint), device='cpu',
              **STREAM), 'model'),
    ]
    for kwargs, differs in cases:
        with pytest.raises(InferenceError, match=f'other settings.*{differs}') as err:
            super_resolve(clip, out, resume=True, **kwargs)
        assert err.value.param == 'resume' and 'nothing was started' in str(err.value)
    # the input changed since
    changed = tmp_path / 'clip.mp4'
    changed.write_bytes(clip.read_bytes())
    with pytest.raises(InferenceError, match='other settings.*input'):
        super_resolve(changed, out, resume=True, **api(tiny, **STREAM))
    assert {p.name: p.stat().st_mtime_ns for p in work.iterdir()} == before
    assert not out.exists()


def test_resume_without_a_work_folder_starts_nothing(tiny, clip, tmp_path, capsys):
    config, checkpoint = tiny
    out = tmp_path / 'out.mp4'
    code = main([str(clip), str(out), '--config', str(config), '--checkpoint', str(checkpoint),
                 '--resume', '--no-progress', *STREAM_ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith('realbasicvsr: error: --resume: there is no work folder')
    assert os.listdir(tmp_path) == []


def test_a_new_run_does_not_discard_an_interrupted_one(tiny, clip, tmp_path, monkeypatch,
                                                       capsys):
    out = tmp_path / 'out.mp4'
    work, before = interrupted_work(tiny, clip, out, monkeypatch)
    config, checkpoint = tiny
    code = main([str(clip), str(out), '--config', str(config), '--checkpoint', str(checkpoint),
                 '--no-progress', *STREAM_ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and '--resume' in err[0] and 'interrupted run' in err[0]
    assert {p.name: p.stat().st_mtime_ns for p in work.iterdir()} == before


def test_frame_folder_output_resumes(tiny, clip, tmp_path, monkeypatch):
    super_resolve(clip, tmp_path / 'full', **api(tiny, **STREAM))
    out = tmp_path / 'out'
    undo = interrupt_after(monkeypatch, 2)
    with pytest.raises(Stop):
        super_resolve(clip, out, **api(tiny, **STREAM))
    undo()
    assert super_resolve(clip, out, resume=True, **api(tiny, **STREAM)).resumed_frames == 16
    names = sorted(os.listdir(tmp_path / 'full'))
    assert sorted(os.listdir(out)) == names
    import cv2
    for name in names:
        np.testing.assert_array_equal(cv2.imread(str(out / name)),
                                      cv2.imread(str(tmp_path / 'full' / name)))


def test_killed_then_resumed_gives_the_same_video(tiny, tmp_path):
    """SIGKILL part way through a command, then ``--resume``: the same frames, decoded."""
    config, checkpoint = tiny
    source = write_video(tmp_path / 'long.mp4', moving_frames(48, 16, 16, seed=4), audio='aac')
    common = ['--config', str(config), '--checkpoint', str(checkpoint), '--no-progress',
              *STREAM_ARGS]
    command = [sys.executable, '-m', 'realbasicvsr_plugin.apis.cli', str(source)]
    reference = tmp_path / 'reference.mp4'
    subprocess.run([*command, str(reference), *common], check=True, timeout=300,
                   capture_output=True)

    out = tmp_path / 'out.mp4'
    work = seg.work_folder_for(out)
    process = subprocess.Popen([*command, str(out), *common], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while len(list(work.glob('*.done'))) < 2:
            assert process.poll() is None, 'the run ended before it could be killed'
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    done = len(list(work.glob('*.done')))
    assert 2 <= done < 6 and not out.exists()

    resumed = subprocess.run([*command, str(out), *common, '--resume'], timeout=300,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f'resumed after {8 * done} frame(s)' in resumed.stderr
    np.testing.assert_array_equal(read_video(out), read_video(reference))
    assert probe(out)['audio'] == 'aac' and not work.exists()


# ------------------------------------------------------------------ what segmented jobs keep
#: Chunks of 4 frames overlapping by 1 (period 3) and segments of 3 frames: a 12-frame clip is
#: written as 4 segments.
TOY_SEGMENTS = dict(max_seq_len=4, overlap=1, segment_frames=3)


def one_go_and_segmented(clip, tmp_path, ext, **kwargs):
    """The same job written in one go and in segments (counted); returns both outputs."""
    counted = []
    original = seg.WorkFolder.mark_done

    def mark_done(self, k, *args, **kw):
        counted.append(k)
        return original(self, k, *args, **kw)

    outputs = []
    for name, frames in (('one', 0), ('parts', TOY_SEGMENTS['segment_frames'])):
        out = tmp_path / f'{name}{ext}'
        seg.WorkFolder.mark_done = mark_done
        try:
            summary = super_resolve(clip, out, model=Bilinear4x(), device='cpu',
                                    **{**TOY_SEGMENTS, 'segment_frames': frames, **kwargs})
        finally:
            seg.WorkFolder.mark_done = original
        outputs.append((out, summary))
    assert len(counted) >= 3, counted  # the second job was written in 3 or more segments
    assert not seg.work_folder_for(outputs[1][0]).exists()
    return outputs


def audio_spans(path):
    """``[start, end, start, end, ...]`` in seconds of every audio stream, from its packets."""
    spans = []
    with av.open(str(path)) as container:
        for stream in container.streams.audio:
            with av.open(str(path)) as again:
                packets = [p for p in again.demux(again.streams[stream.index])
                           if p.size and p.pts is not None]
            spans += [float(min(p.pts for p in packets) * stream.time_base),
                      float(max((p.pts + p.duration) for p in packets) * stream.time_base)]
    return spans


def subtitles_of(path):
    with av.open(str(path)) as container:
        if not container.streams.subtitles:
            return []
        return [(bytes(p), round(float(p.pts * p.time_base), 3))
                for p in container.demux(container.streams.subtitles[0]) if p.size]


def streams_of(path):
    """What a file holds besides the frames: its streams, metadata and rotation."""
    with av.open(str(path)) as container:
        streams = [(s.type, s.codec_context.name if s.codec_context else None,
                    s.metadata.get('language'), s.metadata.get('title'))
                   for s in container.streams]
        rotation = next(container.decode(video=0)).rotation
        return streams, container.metadata.get('title'), rotation


@pytest.mark.parametrize('ext', ['.mp4', '.mkv'])
def test_segmented_vfr_clip_with_a_start_offset_keeps_its_timestamps(ext, tmp_path):
    times = [t + 500 for t in VFR_MS]
    clip = make_clip(tmp_path / 'in.mp4', patch_frames(len(times)), times_ms=times,
                     audio_layout='mono', crf=20)
    source = np.array(frame_times(clip))
    (one, _), (parts, summary) = one_go_and_segmented(clip, tmp_path, ext)
    assert summary.frames == len(times)
    out_times = np.array(frame_times(parts))
    assert len(out_times) == len(source)
    np.testing.assert_allclose(out_times, frame_times(one), atol=1e-3)
    assert audio_spans(parts) == pytest.approx(audio_spans(one), abs=1e-3)
    if ext == '.mp4':
        assert np.abs(out_times - source).max() < 1e-3, (out_times, source)
        assert audio_spans(parts) == pytest.approx(audio_spans(clip), abs=1e-3)  # in sync
    else:  # Matroska stores no negative times: the muxer moves every stream by the AAC
        # priming (64 ms of audio before 0), in one go and in segments alike
        shift = audio_spans(parts)[0] - audio_spans(clip)[0]
        assert np.abs(out_times - source - shift).max() < 1e-3, (out_times, source)


def test_segmented_job_keeps_rotation_metadata_subtitles_and_two_audio_streams(tmp_path):
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(12), rotation=ROT90,
                     metadata={'title': 'A phone video'},
                     stream_metadata={'language': 'fra', 'title': 'main camera'},
                     subtitles=[(40, 80, 'Bonjour'), (200, 80, 'au revoir')],
                     audio_layout='mono', audio_start_ms=60, audio_languages=('eng', 'deu'))
    (one, whole), (parts, summary) = one_go_and_segmented(clip, tmp_path, '.mkv')
    streams, title, rotation = streams_of(parts)
    assert (streams, title, rotation) == streams_of(one)
    assert title == 'A phone video' and rotation == 90
    assert sorted(s[0] for s in streams) == ['audio', 'audio', 'subtitle', 'video']
    assert ('video', 'h264', 'fra', 'main camera') in streams
    assert {s[2] for s in streams if s[0] == 'audio'} == {'eng', 'deu'}
    assert subtitles_of(parts) == subtitles_of(one) == [(b'Bonjour', 0.04),
                                                        (b'au revoir', 0.2)]
    spans = audio_spans(parts)
    assert spans == pytest.approx(audio_spans(one), abs=1e-3) and len(spans) == 4
    assert spans == pytest.approx(audio_spans(clip), abs=1e-3)  # in sync: the source's place
    assert summary.audio == whole.audio == 'copy'
    assert summary.warnings == whole.warnings == []
    np.testing.assert_array_equal(frame_times(parts), frame_times(one))


def test_segmented_job_reports_what_it_cannot_carry_as_a_one_go_job(tmp_path):
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(12), rotation=ROT90,
                     subtitles=[(40, 80, 'Hi')], attachment=b'font bytes' * 8)
    (_, whole), (_, summary) = one_go_and_segmented(clip, tmp_path, '.avi', codec='mpeg4')
    assert len(summary.warnings) == 1 and summary.warnings == [
        w.replace('one.avi', 'parts.avi') for w in whole.warnings]
    for needle in ('subtitle stream #1', 'rotation', '1 attachment(s)'):
        assert needle in summary.warnings[0], summary.warnings[0]


def test_segmented_frame_range_equals_the_one_go_range(tmp_path):
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(len(VFR_MS)), times_ms=VFR_MS, crf=20,
                     audio_layout='mono', subtitles=[(20, 20, 'before'), (400, 80, 'inside'),
                                                     (650, 40, 'after')])
    (one, _), (parts, summary) = one_go_and_segmented(clip, tmp_path, '.mkv', start=2, end=10)
    assert summary.frames == 8
    one_times, part_times = frame_times(one), frame_times(parts)
    np.testing.assert_allclose(part_times, one_times, atol=1e-3)
    expected = np.array(VFR_MS[2:10]) / 1000
    assert np.abs(np.subtract(part_times, part_times[0]) - (expected - expected[0])).max() < 1e-3
    assert part_times[0] == pytest.approx(0, abs=1e-3)  # the range starts where the source does
    spans = audio_spans(parts)
    assert spans == pytest.approx(audio_spans(one), abs=1e-3)
    # from the range's start (0.08 s of the source) to just after its last frame (0.5 s; the
    # source's audio goes on to 0.74 s, which would end at 0.66 s here)
    assert -0.07 < spans[0] <= 1e-3 and 0.4 < spans[1] < 0.6, spans
    assert subtitles_of(parts) == subtitles_of(one) == [(b'inside', 0.32)]


def test_segmented_job_at_a_forced_rate(tmp_path):
    clip = make_clip(tmp_path / 'in.mkv', patch_frames(len(VFR_MS)), times_ms=VFR_MS, crf=20,
                     audio_layout='mono')
    (one, _), (parts, _) = one_go_and_segmented(clip, tmp_path, '.mkv', fps=10)
    expected = [i / 10 for i in range(len(VFR_MS))]
    assert frame_times(parts) == pytest.approx(expected, abs=1e-3)
    assert frame_times(one) == pytest.approx(expected, abs=1e-3)
    assert audio_spans(parts) == pytest.approx(audio_spans(one), abs=1e-3)
