"""Every option is checked up front against a range that works; library errors name the
parameter and the command line names the flag; one rule for exit statuses (issue 19 part 5,
part 7's wrong API types, issue 16 part 4)."""
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from realbasicvsr_plugin.apis import InferenceError, super_resolve
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.option_checks import FPS_RANGE
from realbasicvsr_plugin.apis.streaming_inferencer import StreamingInferencer
from test_inference_utils import moving_frames, read_video, tiny_net, write_video

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp('clip') / 'clip.mp4', moving_frames(t=3),
                       audio='aac')


BAD_VALUES = [
    (['--fps', '100000'], '--fps must be between 0.01 and 1000'),
    (['--fps', 'inf'], '--fps must be a finite number'),
    (['--fps', 'nan'], '--fps must be a finite number'),
    (['--fps', '1e-9'], '--fps must be between 0.01 and 1000'),
    (['--fps', '-5'], '--fps must be between'),
    (['--tile', '3'], '--tile must be 0 or at least 64'),
    (['--tile', '-1'], '--tile must be >= 0'),
    (['--max-passes', '0'], '--max-passes must be in 1..20'),
    (['--max-passes', '1000000'], '--max-passes must be in 1..20'),
    (['--png-compression', '12'], '--png-compression must be in 0..9'),
    (['--start', '-1'], '--start must be >= 0'),
    (['--start', '4', '--end', '2'], '--end (2) must be greater than --start (4)'),
    (['--max-seq-len', '-1'], '--max-seq-len must be >= 0'),
    (['--max-seq-len', '4', '--overlap', '4'], '--overlap (4) must be smaller than --max-seq-len'),
    (['--tile-overlap', '-2'], '--tile-overlap must be >= 0'),
    (['--dynamic-refine-thres', 'inf'], '--dynamic-refine-thres must be a finite number'),
    (['--dynamic-refine-thres', '-1'], '--dynamic-refine-thres must be a finite number >= 0'),
    (['--dynamic-refine-thres', 'high'], "--dynamic-refine-thres must be a number or 'off'"),
]


@pytest.mark.parametrize('extra,message', BAD_VALUES, ids=[' '.join(c[0]) for c in BAD_VALUES])
def test_bad_values_fail_up_front_with_status_1(extra, message, clip, model, tmp_path, capsys,
                                                monkeypatch):
    def model_fn(self, lqs):
        raise AssertionError('the network ran before the options were checked')

    monkeypatch.setattr(StreamingInferencer, 'model_frames', model_fn)
    code = main([str(clip), str(tmp_path / 'o.mp4'), *model, *extra])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith('realbasicvsr: error: ') and message in err, err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('malformed,out_of_range', [
    (['--max-passes', 'x'], ['--max-passes', '0']),
    (['--tile', '3.5'], ['--tile', '-1']),
    (['--png-compression', 'high'], ['--png-compression', '12']),
    (['--fps', 'fast'], ['--fps', '0']),
    (['--no-such-flag'], ['--crf', '-1']),
])
def test_one_rule_for_exit_statuses(malformed, out_of_range, clip, model, tmp_path, capsys):
    """2: the command line is malformed (argparse's usage); 1: a value out of its range."""
    with pytest.raises(SystemExit) as info:
        main([str(clip), str(tmp_path / 'o.mp4'), *model, *malformed])
    assert info.value.code == 2
    assert 'usage: realbasicvsr' in capsys.readouterr().err
    assert main([str(clip), str(tmp_path / 'o.mp4'), *model, *out_of_range]) == 1
    err = capsys.readouterr().err
    assert 'usage:' not in err and err.startswith(f'realbasicvsr: error: {out_of_range[0]} ')


def test_the_ends_of_the_frame_rate_range_work_and_beyond_them_is_refused(clip, tmp_path):
    for fps in FPS_RANGE:
        out = tmp_path / f'{float(fps)}.mkv'
        super_resolve(clip, out, model=tiny_net(), fps=fps, audio=False)
        assert len(read_video(out)) == 3
    for fps in (FPS_RANGE[0] / 2, FPS_RANGE[1] + 1):
        with pytest.raises(InferenceError, match='fps must be between'):
            super_resolve(clip, tmp_path / 'beyond.mkv', model=tiny_net(), fps=fps)


@pytest.mark.parametrize('kwargs,param,words', [
    (dict(output=None), 'output', 'must be a path'),
    (dict(max_seq_len='8'), 'max_seq_len', "must be a whole number, got '8' (str)"),
    (dict(tile=2.5), 'tile', 'must be a whole number'),
    (dict(overwrite='yes'), 'overwrite', 'must be True or False'),
    (dict(fps='30'), 'fps', 'must be a number'),
    (dict(max_passes=True), 'max_passes', 'must be a whole number'),
    (dict(model='net.pth'), 'model', 'must be a torch.nn.Module'),
])
def test_api_calls_with_wrong_types_name_the_parameter(kwargs, param, words, clip, tmp_path):
    call = dict(input=clip, output=tmp_path / 'o.mp4', model=tiny_net())
    call.update(kwargs)
    with pytest.raises(InferenceError) as info:
        super_resolve(**call)
    assert info.value.param == param
    assert str(info.value).startswith(param) and words in str(info.value), info.value
    assert os.listdir(tmp_path) == []


def test_the_api_names_parameters_and_the_command_line_names_flags(clip, model, tmp_path,
                                                                   capsys):
    out = tmp_path / 'o.mp4'
    out.write_bytes(b'existing')
    cases = [(dict(), [], 'overwrite', '--overwrite'),
             (dict(overwrite=True, max_seq_len=-1), ['--overwrite', '--max-seq-len', '-1'],
              'max_seq_len', '--max-seq-len'),
             (dict(overwrite=True, tile=3), ['--overwrite', '--tile', '3'], 'tile', '--tile')]
    for kwargs, flags, param, flag in cases:
        with pytest.raises(InferenceError) as info:
            super_resolve(clip, out, model=tiny_net(), **kwargs)
        assert param in str(info.value) and flag not in str(info.value), info.value
        assert main([str(clip), str(out), *model, *flags]) == 1
        err = capsys.readouterr().err
        assert flag in err, err
        assert not re.search(rf'(?<![\w-]){param}(?![\w-])', err), err
    assert out.read_bytes() == b'existing'


def test_ffmpeg_log_lines_do_not_precede_the_one_error_line(model, tmp_path):
    """FFmpeg's decoder logs from its threads (``Invalid NAL unit size``) are held back."""
    full = write_video(tmp_path / 'full.mp4', moving_frames(t=30, seed=1), lossless=False,
                       options={'movflags': 'faststart'})
    cut = tmp_path / 'cut.mp4'
    cut.write_bytes(full.read_bytes()[:len(full.read_bytes()) // 2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                       os.environ.get('PYTHONPATH', '')]))
    done = subprocess.run([sys.executable, '-m', 'realbasicvsr_command', str(cut),
                           str(tmp_path / 'o.mp4'), *model], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 1
    assert done.stderr.count('\n') == 1 and done.stderr.startswith('realbasicvsr: error: '), \
        done.stderr
    assert 'cut.mp4' in done.stderr


def test_python_warnings_do_not_precede_the_one_error_line(clip, model, tmp_path):
    """A warning from a library (torch's UserWarnings, ...) before a failure is held back (in a
    process of its own: pytest would catch the warning itself)."""
    script = (
        'import sys, warnings\n'
        'from realbasicvsr_plugin.apis.streaming_inferencer import StreamingInferencer\n'
        'def model_fn(self, lqs):\n'
        '    warnings.warn("a library complains", UserWarning)\n'
        '    raise RuntimeError("then it fails")\n'
        'StreamingInferencer.model_frames = model_fn\n'
        'from realbasicvsr_plugin.apis.cli import main\n'
        f'sys.exit(main({[str(clip), str(tmp_path / "o.mp4"), *model]!r}))\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                       os.environ.get('PYTHONPATH', '')]))
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 1
    assert done.stderr.count('\n') == 1 and 'then it fails' in done.stderr, done.stderr
    assert 'complains' not in done.stderr


def test_warnings_of_a_successful_run_follow_as_one_line_each(clip, model, tmp_path, capsys,
                                                              monkeypatch):
    original = StreamingInferencer.model_frames

    def model_fn(self, lqs):
        warnings.warn('a library complains\non two lines', UserWarning)
        return original(self, lqs)

    monkeypatch.setattr(StreamingInferencer, 'model_frames', model_fn)
    assert main([str(clip), str(tmp_path / 'o.mp4'), *model]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == 'realbasicvsr: warning: UserWarning: a library complains on two lines'
    assert lines[1].startswith('realbasicvsr: wrote 3 frame(s)') and len(lines) == 2
