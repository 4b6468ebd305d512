"""Many inputs in one command: ``realbasicvsr IN [IN ...] -o OUT_DIR``.

Claims: the model is loaded once; each output is named after its input (a video stays a video of
its container, a frame folder becomes a folder of PNG frames); a failing input is reported in one
line and the others go on; each input's warnings (malformed metadata, what its output could not
carry) are printed as for one input, and the summary table marks the inputs that had some; a
summary table ends the run; the exit status is 1 if any input failed; ``realbasicvsr IN OUT``
still works; with ``--resume`` a batch continues where it stopped.
"""
import os

import numpy as np
import pytest

from realbasicvsr_plugin.apis import inference
from realbasicvsr_plugin.apis.cli import main
from test_inference_utils import moving_frames, read_video, write_frames, write_video
from test_video_fidelity import gradient_frames, make_clip, patch_frames


@pytest.fixture
def inputs(tmp_path):
    root = tmp_path / 'in'
    root.mkdir()
    video = write_video(root / 'clip.mp4', moving_frames(4, 16, 16), audio='aac')
    other = write_video(root / 'other.mkv', moving_frames(3, 16, 24, seed=2), lossless=False)
    folder = write_frames(root / 'shots', moving_frames(2, 16, 16, seed=3))
    broken = root / 'broken.mp4'
    broken.write_bytes(os.urandom(2048))
    return dict(video=video, other=other, folder=folder, broken=broken)


@pytest.fixture
def load_count(monkeypatch):
    calls = []
    original = inference.load_model

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(inference, 'load_model', counting)
    return calls


def test_each_input_gets_its_output_a_failure_does_not_stop_the_others(
        inputs, model, tmp_path, capsys, load_count):
    out = tmp_path / 'out'
    code = main([str(inputs['video']), str(inputs['broken']), str(inputs['folder']),
                 str(inputs['other']), '-o', str(out), *model])
    err = capsys.readouterr().err
    assert code == 1, err
    assert len(load_count) == 1  # one model for all inputs
    assert read_video(out / 'clip.mp4').shape == (4, 64, 64, 3)
    assert read_video(out / 'other.mkv').shape == (3, 64, 96, 3)
    assert sorted(p.name for p in (out / 'shots').iterdir()) == ['00000.png', '00001.png']
    assert not (out / 'broken.mp4').exists()
    errors = [line for line in err.splitlines() if 'error' in line]
    assert len(errors) == 1 and 'broken.mp4' in errors[0] and 'corrupt' in errors[0]
    assert 'Traceback' not in err
    table = err[err.index('status'):].splitlines()
    assert [row.split()[0] for row in table[1:5]] == ['done', 'failed', 'done', 'done']
    assert table[-1] == '4 input(s): 3 ok, 1 failed'
    assert sorted(os.listdir(out)) == ['clip.mp4', 'other.mkv', 'shots']  # no temporary files


def test_all_good_exit_status_0(inputs, model, tmp_path, capsys):
    out = tmp_path / 'out'
    code = main([str(inputs['video']), str(inputs['folder']), '-o', str(out), *model])
    err = capsys.readouterr().err
    assert code == 0, err
    assert '2 input(s): 2 ok, 0 failed' in err
    assert (out / 'clip.mp4').is_file() and (out / 'shots').is_dir()


def test_same_outputs_as_one_input_at_a_time(inputs, model, tmp_path, capsys):
    assert main([str(inputs['folder']), str(tmp_path / 'single'), *model]) == 0
    assert main([str(inputs['folder']), '-o', str(tmp_path / 'many'), *model]) == 0
    capsys.readouterr()
    import cv2
    for name in ('00000.png', '00001.png'):
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'single' / name)),
                                      cv2.imread(str(tmp_path / 'many' / 'shots' / name)))


def test_two_inputs_of_the_same_name(inputs, model, tmp_path, capsys):
    twin = tmp_path / 'elsewhere'
    twin.mkdir()
    (twin / 'clip.mp4').write_bytes(inputs['video'].read_bytes())
    out = tmp_path / 'out'
    code = main([str(inputs['video']), str(twin / 'clip.mp4'), '-o', str(out), *model])
    err = capsys.readouterr().err
    assert code == 1
    assert 'also be the output of' in err and read_video(out / 'clip.mp4').shape[0] == 4


def test_existing_outputs_fail_one_by_one_without_overwrite(inputs, model, tmp_path, capsys):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'clip.mp4').write_bytes(b'keep me')
    code = main([str(inputs['video']), str(inputs['folder']), '-o', str(out), *model])
    err = capsys.readouterr().err
    assert code == 1 and 'already exists' in err and '--overwrite' in err
    assert (out / 'clip.mp4').read_bytes() == b'keep me' and (out / 'shots').is_dir()


@pytest.mark.parametrize('args,needle', [
    (['a.mp4', 'b.mp4', 'c.mp4'], '-o OUT_DIR'),
    (['a.mp4'], 'INPUT OUTPUT'),
    (['-o', 'out'], 'at least one INPUT'),
])
def test_paths_that_do_not_make_a_command(args, needle, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2 and needle in capsys.readouterr().err


def test_output_dir_that_is_a_file(inputs, model, tmp_path, capsys):
    target = tmp_path / 'file'
    target.write_text('x')
    code = main([str(inputs['video']), '-o', str(target), *model])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and '--output-dir' in err[0] and 'is a file' in err[0]


def test_a_batch_resumes_where_it_stopped(inputs, model, tmp_path, capsys):
    out = tmp_path / 'out'
    assert main([str(inputs['video']), '-o', str(out), *model]) == 0
    done = (out / 'clip.mp4').stat().st_mtime_ns
    code = main([str(inputs['video']), str(inputs['folder']), '-o', str(out), '--resume', *model])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (out / 'clip.mp4').stat().st_mtime_ns == done  # finished before: skipped
    assert 'skipped' in err and (out / 'shots').is_dir()


def warning_lines(err):
    return [line for line in err.splitlines() if line.startswith('realbasicvsr: warning: ')]


def test_each_inputs_warnings_are_printed_and_marked_in_the_table(inputs, model, tmp_path,
                                                                  capsys):
    # a malformed (45 degree) display matrix: a warning about the source; a 12-bit source,
    # which H.264 writes at 10 bits: a warning of what the output does not carry
    tilted = make_clip(tmp_path / 'in' / 'tilted.mp4', patch_frames(2),
                       rotation=[46341, -46341, 0, 46341, 46341, 0, 0, 0, 1 << 30])
    deep = make_clip(tmp_path / 'in' / 'deep.mkv', gradient_frames(2), codec='libx265',
                     pix_fmt='yuv420p12le')
    single = []
    for clip in (tilted, deep):
        assert main([str(clip), str(tmp_path / f'single{clip.suffix}'), *model]) == 0
        single += warning_lines(capsys.readouterr().err)
    assert len(single) == 2 and 'display matrix' in single[0] and '12-bit' in single[1]
    out = tmp_path / 'out'
    code = main([str(inputs['video']), str(tilted), str(inputs['folder']), str(deep),
                 '-o', str(out), *model])
    err = capsys.readouterr().err
    assert code == 0, err
    # as the single-input command prints them (the second names its output)
    assert warning_lines(err) == [single[0], single[1].replace(str(tmp_path / 'single.mkv'),
                                                               str(out / 'deep.mkv'))]
    table = err[err.index('status'):].splitlines()
    assert table[0].split()[-1] == 'warnings'
    assert [row.split()[-1] for row in table[1:5]] == ['-', '1', '-', '1']
    assert table[-1] == '4 input(s): 4 ok, 0 failed, 2 with warnings'
