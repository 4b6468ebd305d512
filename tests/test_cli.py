"""The ``realbasicvsr`` command: bad input, safety of the output, progress, entry points.

Claims:
* every bad input (missing, corrupt, truncated, empty, no frames, no images, mixed sizes, unknown
  codec, a checkpoint that does not fit, ...) ends with one line naming the problem on stderr,
  exit status 1 and no traceback (``--debug`` shows it);
* the input is never written over; an existing output is replaced only with ``--overwrite``;
  a crash or Ctrl-C leaves neither a partial output nor temporary files, and an existing output
  survives it unchanged;
* a progress bar shows frames per second and the ETA.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from realbasicvsr_plugin.apis import InferenceError
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.streaming_inferencer import StreamingInferencer
from test_inference_utils import (TINY_CONFIG, moving_frames, probe, read_video, write_frames,
                                  write_video)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    """Good and bad inputs, made once."""
    import av
    import cv2

    root = tmp_path_factory.mktemp('media')
    frames = moving_frames(t=6, h=32, w=32)
    paths = {}
    paths['video'] = write_video(root / 'clip.mp4', frames, audio='aac')
    paths['frames'] = write_frames(root / 'frames', frames)
    (root / 'garbage.mp4').write_bytes(os.urandom(4096))
    paths['garbage'] = root / 'garbage.mp4'
    (root / 'empty.mp4').write_bytes(b'')
    paths['empty'] = root / 'empty.mp4'
    long = moving_frames(t=30, h=32, w=32, seed=1)
    for name, ext, options in (('trunc_mp4', '.mp4', None), ('trunc_mkv', '.mkv', None),
                               ('trunc_faststart', '.mp4', {'movflags': 'faststart'})):
        full = write_video(root / f'full_{name}{ext}', long, lossless=False, options=options)
        data = full.read_bytes()
        paths[name] = root / f'{name}{ext}'
        paths[name].write_bytes(data[:len(data) // 2])
    # a video container with a video stream but no frames (AVI keeps such a stream)
    container = av.open(str(root / 'no_frames.avi'), 'w')
    stream = container.add_stream('mpeg4', rate=25)
    stream.width, stream.height, stream.pix_fmt = 32, 32, 'yuv420p'
    container.start_encoding()
    container.close()
    paths['no_frames'] = root / 'no_frames.avi'
    # audio only
    container = av.open(str(root / 'audio_only.mka'), 'w')
    stream = container.add_stream('pcm_s16le', rate=8000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format='s16',
                                       layout='mono')
    frame.sample_rate, frame.pts = 8000, 0
    for packet in stream.encode(frame):
        container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    paths['audio_only'] = root / 'audio_only.mka'
    (root / 'no_images').mkdir()
    (root / 'no_images' / 'notes.txt').write_text('not a frame')
    paths['no_images'] = root / 'no_images'
    mixed = write_frames(root / 'mixed', frames[:3])
    cv2.imwrite(str(mixed / '00003.png'), np.zeros((40, 32, 3), np.uint8))
    paths['mixed'] = mixed
    (root / 'fake.png').write_text('this is not a png')
    paths['fake_image'] = root / 'fake.png'
    bad_cfg = root / 'wider_config.py'
    bad_cfg.write_text(TINY_CONFIG.replace('mid_channels=4', 'mid_channels=8'))
    paths['wider_config'] = bad_cfg
    (root / 'broken_config.py').write_text('model = dict(type=\n')
    paths['broken_config'] = root / 'broken_config.py'
    (root / 'not_a_checkpoint.pth').write_bytes(b'\x00' * 100)
    paths['not_a_checkpoint'] = root / 'not_a_checkpoint.pth'
    return paths


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err


def assert_one_line_error(code, err, *needles):
    lines = err.strip().splitlines()
    assert code == 1, err
    assert len(lines) == 1, err
    assert lines[0].startswith('realbasicvsr: error: '), err
    assert 'Traceback' not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


BAD_INPUTS = [
    # (case id, input key or literal, extra args, expected words in the message)
    ('missing file', 'missing.mp4', [], ['input not found', 'missing.mp4']),
    ('empty file', 'empty', [], ['empty file', 'empty.mp4']),
    ('corrupt video', 'garbage', [], ['garbage.mp4', 'corrupt']),
    ('truncated mp4', 'trunc_mp4', [], ['trunc_mp4.mp4', 'truncated']),
    ('truncated faststart mp4', 'trunc_faststart', [], ['trunc_faststart.mp4', 'truncated']),
    ('truncated mkv', 'trunc_mkv', [], ['trunc_mkv.mkv', 'truncated']),
    ('zero frames', 'no_frames', [], ['no_frames.avi', 'no frames']),
    ('no video stream', 'audio_only', [], ['audio_only.mka', 'no video stream']),
    ('folder without images', 'no_images', [], ['no_images', 'no image files']),
    ('frames of mixed sizes', 'mixed', [], ['mixed sizes', '00003.png', '32x40']),
    ('not an image', 'fake_image', [], ['fake.png', 'not a readable image']),
    ('unknown codec', 'video', ['--codec', 'h264_nonexistent'], ['unknown video codec',
                                                                 'h264_nonexistent']),
    ('crf with a codec without crf', 'video', ['--codec', 'mpeg4', '--crf', '5'],
     ['--crf', 'mpeg4']),
    ('half precision on cpu', 'video', ['--fp16', '--device', 'cpu'], ['--fp16', 'CUDA']),
    ('cuda without a gpu', 'video', ['--device', 'cuda:7'], ['--device', 'cuda:7']),
    ('overlap not below chunk length', 'video', ['--max-seq-len', '4', '--overlap', '4'],
     ['--max-seq-len', 'overlap']),
    ('tile overlap above half a tile', 'video', ['--tile', '16', '--tile-overlap', '9'],
     ['--tile']),
    ('bad bitrate', 'video', ['--bitrate', 'fast'], ['--bitrate', 'fast']),
    ('range past the end', 'video', ['--start', '50'], ['frame range', 'only 6 frames']),
]


@pytest.mark.parametrize('case,source,extra,needles', BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_status_1(case, source, extra, needles, media, model,
                                                 tmp_path, capsys):
    source = media.get(source, tmp_path / source)
    out = tmp_path / 'out.mp4'
    code, err = run_cli([source, out, *model, *extra], capsys)
    assert_one_line_error(code, err, *needles)
    assert not out.exists()
    assert os.listdir(tmp_path) == [], 'temporary files were left behind'


@pytest.mark.parametrize('key,needles', [
    ('wider_config', ['does not fit', 'wider_config.py', 'tiny.pth']),
    ('broken_config', ['cannot read config', 'broken_config.py']),
])
def test_checkpoint_that_does_not_fit_the_config(key, needles, media, model, tmp_path, capsys):
    args = list(model)
    args[args.index('--config') + 1] = str(media[key])
    code, err = run_cli([media['video'], tmp_path / 'out.mp4', *args], capsys)
    assert_one_line_error(code, err, *needles)


def test_missing_or_unreadable_checkpoint(media, model, tmp_path, capsys):
    args = list(model)
    args[args.index('--checkpoint') + 1] = str(tmp_path / 'nope.pth')
    code, err = run_cli([media['video'], tmp_path / 'out.mp4', *args], capsys)
    assert_one_line_error(code, err, 'checkpoint not found', 'nope.pth')
    args[args.index('--checkpoint') + 1] = str(media['not_a_checkpoint'])
    code, err = run_cli([media['video'], tmp_path / 'out.mp4', *args], capsys)
    assert_one_line_error(code, err, 'not_a_checkpoint.pth')


def test_config_without_checkpoint_and_missing_demo_model(media, model, tmp_path, capsys,
                                                          monkeypatch):
    config = model[model.index('--config') + 1]
    code, err = run_cli([media['video'], tmp_path / 'out.mp4', '--config', config], capsys)
    assert_one_line_error(code, err, 'needs a --checkpoint', 'random weights')
    from realbasicvsr_plugin.apis import model_loading
    monkeypatch.setattr(model_loading, 'weights_dir', lambda: tmp_path / 'no_weights')
    code, err = run_cli([media['video'], tmp_path / 'out.mp4'], capsys)
    assert_one_line_error(code, err, 'demo model is not installed', '--checkpoint')
    assert os.listdir(tmp_path) == []


def test_default_model_is_the_shipped_demo_model(media, tmp_path, capsys):
    from realbasicvsr_plugin.apis import default_model
    config, checkpoint = default_model()
    assert config.parent.name == checkpoint.parent.name == 'weights'
    code, err = run_cli([media['video'], tmp_path / 'out.mp4', '--end', '3', '--no-progress'],
                        capsys)
    assert code == 0, err
    assert len(read_video(tmp_path / 'out.mp4')) == 3


def test_shipped_model_is_verified_by_its_sha256(media, tmp_path, capsys, monkeypatch):
    """A damaged, replaced or unlisted demo model is refused before it is loaded."""
    import shutil

    from realbasicvsr_plugin.apis import model_loading
    from realbasicvsr_plugin.cache import sha256_of
    shipped = model_loading.weights_dir()
    # the package's list names the shipped file with its real checksum
    sums = (shipped / 'SHA256SUMS').read_text().split()
    assert sums == [sha256_of(shipped / 'realbasicvsr_demo.pth'), 'realbasicvsr_demo.pth']
    weights = tmp_path / 'weights'
    shutil.copytree(shipped, weights)
    monkeypatch.setattr(model_loading, 'weights_dir', lambda: weights)
    out = tmp_path / 'out'
    out.mkdir()
    checkpoint = weights / 'realbasicvsr_demo.pth'
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 1  # one flipped bit in a weight: torch would load it silently
    checkpoint.write_bytes(bytes(data))
    code, err = run_cli([media['video'], out / 'x.mp4', '--no-progress'], capsys)
    assert_one_line_error(code, err, str(checkpoint), 'damaged', sums[0], 'reinstall')
    # named explicitly, the shipped file is checked too
    code, err = run_cli([media['video'], out / 'x.mp4', '--checkpoint', checkpoint,
                         '--config', weights / 'realbasicvsr_demo_config.py'], capsys)
    assert_one_line_error(code, err, 'damaged')
    (weights / 'SHA256SUMS').write_text('')
    code, err = run_cli([media['video'], out / 'x.mp4'], capsys)
    assert_one_line_error(code, err, 'lists no sha256', str(checkpoint), 'reinstall')
    assert os.listdir(out) == []
    # the same file elsewhere is the user's own and loads unchecked
    model_loading.verify_shipped_checkpoint(shutil.copy(checkpoint, tmp_path / 'mine.pth'))


def test_unknown_output_extension_and_multi_frame_image_output(media, model, tmp_path, capsys):
    code, err = run_cli([media['video'], tmp_path / 'out.xyz', *model], capsys)
    assert_one_line_error(code, err, '.xyz')
    code, err = run_cli([media['video'], tmp_path / 'out.png', *model], capsys)
    assert_one_line_error(code, err, 'single image', '6 frames')
    assert os.listdir(tmp_path) == []


def test_debug_shows_the_exception(media, model, tmp_path):
    with pytest.raises(InferenceError, match='input not found'):
        main([str(tmp_path / 'missing.mp4'), str(tmp_path / 'o.mp4'), *model, '--debug'])


# ------------------------------------------------------------------ safety
def test_output_that_is_the_input_is_refused(media, model, capsys):
    before = media['video'].read_bytes()
    for target in (media['video'], media['video'].parent / '.' / media['video'].name):
        code, err = run_cli([media['video'], target, *model, '--overwrite'], capsys)
        assert_one_line_error(code, err, 'is the input')
    code, err = run_cli([media['frames'], media['frames'], *model, '--overwrite'], capsys)
    assert_one_line_error(code, err, 'is the input')
    # a folder output that holds the input would be replaced with --overwrite: refused too
    code, err = run_cli([media['video'], media['video'].parent, *model, '--overwrite'], capsys)
    assert_one_line_error(code, err, 'contains the input')
    assert media['video'].read_bytes() == before


def test_existing_output_is_replaced_only_with_overwrite(media, model, tmp_path, capsys):
    out = tmp_path / 'out.mp4'
    out.write_bytes(b'precious')
    code, err = run_cli([media['video'], out, *model], capsys)
    assert_one_line_error(code, err, 'already exists', '--overwrite')
    assert out.read_bytes() == b'precious'
    code, err = run_cli([media['video'], out, *model, '--overwrite'], capsys)
    assert code == 0, err
    assert len(read_video(out)) == 6
    # a frames folder too (holding only frames of the kind the command writes)
    folder = tmp_path / 'frames_out'
    folder.mkdir()
    (folder / '00000.png').write_bytes(b'old')
    (folder / '00000099.png').write_bytes(b'old')
    assert run_cli([media['frames'], folder, *model], capsys)[0] == 1
    assert run_cli([media['frames'], folder, *model, '--overwrite'], capsys)[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == [f'{i:05d}.png' for i in range(6)]
    assert sorted(os.listdir(tmp_path)) == ['frames_out', 'out.mp4']


def fail_on_second_chunk(monkeypatch, exc):
    original = StreamingInferencer.model_frames
    calls = []

    def model_fn(self, lqs):
        calls.append(1)
        if len(calls) == 2:
            raise exc
        return original(self, lqs)

    monkeypatch.setattr(StreamingInferencer, 'model_frames', model_fn)
    return calls


@pytest.mark.parametrize('output', ['out.mp4', 'out_frames'])
def test_ctrl_c_leaves_no_partial_output(media, model, tmp_path, capsys, monkeypatch, output):
    calls = fail_on_second_chunk(monkeypatch, KeyboardInterrupt())
    code, err = run_cli([media['video'], tmp_path / output, *model, '--max-seq-len', '2',
                         '--overlap', '0'], capsys)
    assert len(calls) == 2  # the first chunk was already written when Ctrl-C came
    assert code == 130 and 'interrupted' in err and 'Traceback' not in err
    assert os.listdir(tmp_path) == []


def test_sigterm_leaves_no_partial_output(media, model, tmp_path, capsys, monkeypatch):
    import signal
    original = StreamingInferencer.model_frames
    calls = []

    def model_fn(self, lqs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill` or `timeout` would
        return original(self, lqs)

    monkeypatch.setattr(StreamingInferencer, 'model_frames', model_fn)
    handler = signal.getsignal(signal.SIGTERM)
    code, err = run_cli([media['video'], tmp_path / 'out.mp4', *model, '--max-seq-len', '2',
                         '--overlap', '0'], capsys)
    assert code == 143 and 'terminated' in err and 'Traceback' not in err
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is handler  # restored


def test_crash_keeps_the_existing_output(media, model, tmp_path, capsys, monkeypatch):
    out = tmp_path / 'out.mp4'
    out.write_bytes(b'previous result')
    fail_on_second_chunk(monkeypatch, RuntimeError('CUDA out of memory (simulated)'))
    code, err = run_cli([media['video'], out, *model, '--overwrite', '--max-seq-len', '2',
                         '--overlap', '0'], capsys)
    assert_one_line_error(code, err, 'RuntimeError', 'out of memory', '--debug')
    assert out.read_bytes() == b'previous result'
    assert os.listdir(tmp_path) == ['out.mp4']


# ------------------------------------------------------------------ progress and success
def test_progress_bar_shows_rate_and_eta(media, model, tmp_path, capsys):
    args = [a for a in model if a != '--no-progress']
    code, err = run_cli([media['video'], tmp_path / 'out.mkv', *args], capsys)
    assert code == 0, err
    assert '6/6' in err and 'frame/s' in err  # count, rate
    assert '<00:00' in err  # elapsed<remaining: the ETA
    assert 'wrote 6 frame(s) of 128x128' in err
    assert probe(tmp_path / 'out.mkv')['audio'] == 'aac'


def test_script_runs_as_a_program_with_one_line_errors(media, model, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    bad = subprocess.run([sys.executable, str(REPO / 'scripts' / 'inference.py'),
                          str(media['garbage']), str(tmp_path / 'p.mp4'), *model],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 1
    assert bad.stderr.strip().count('\n') == 0, bad.stderr
    assert bad.stderr.startswith('realbasicvsr: error: ') and 'garbage.mp4' in bad.stderr
