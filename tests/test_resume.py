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
* a segment that was not completely written (no record, or cut short) is restored again.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from realbasicvsr_plugin.apis import InferenceError, super_resolve
from realbasicvsr_plugin.apis import segments as seg
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.temporal_chunks import TemporalChunker
from test_inference_utils import (moving_frames, probe, read_video, write_frames,
                                  write_tiny_model, write_video)

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

    def mark_done(self, k, frames, last):
        original(self, k, frames, last)
        if k + 1 >= segments:
            raise Stop()

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
