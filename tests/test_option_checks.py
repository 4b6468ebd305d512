"""Every option is checked up front against a range that works; library errors name the
parameter and the command line names the flag; one rule for exit statuses (issue 19 part 5,
part 7's wrong API types, issue 16 part 4)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from realbasicvsr_plugin.apis import InferenceError, super_resolve
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.option_checks import FPS_RANGE
from realbasicvsr_plugin.apis.streaming_inferencer import StreamingInferencer
from test_inference_utils import (moving_frames, read_video, tiny_net, write_tiny_model,
                                  write_video)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    config, checkpoint, _ = write_tiny_model(tmp_path_factory.mktemp('model'))
    return ['--config', str(config), '--checkpoint', str(checkpoint), '--no-progress']


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
    (['--crf', '99'], '--crf must be in 0..63'),
    (['--png-compression', '12'], '--png-compression must be in 0..9'),
    (['--start', '-1'], '--start must be >= 0'),
    (['--start', '4', '--end', '2'], '--end (2) must be greater than --start (4)'),
    (['--max-seq-len', '-1'], '--max-seq-len must be >= 0'),
    (['--max-seq-len', '4', '--overlap', '4'], '--overlap (4) must be smaller than --max-seq-len'),
    (['--tile-overlap', '-2'], '--tile-overlap must be >= 0'),
    (['--refine-threshold', 'inf'], '--refine-threshold must be a finite number'),
    (['--refine-threshold', '-1'], '--refine-threshold must be a finite number >= 0'),
    (['--refine-threshold', 'high'], "--refine-threshold must be a number or 'off'"),
]


@pytest.mark.parametrize('extra,message', BAD_VALUES, ids=[' '.join(c[0]) for c in BAD_VALUES])
def test_bad_values_fail_up_front_with_status_1(extra, message, clip, model, tmp_path, capsys,
                                                monkeypatch):
    def model_fn(self, lqs):
        raise AssertionError('the network ran before the options were checked')

    monkeypatch.setattr(StreamingInferencer, 'model_fn', model_fn)
    code = main([str(clip), str(tmp_path / 'o.mp4'), *model, *extra])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith('realbasicvsr: error: ') and message in err, err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('extra', [['--fps', 'fast'], ['--tile', '3.5'], ['--no-such-flag'],
                                   ['--crf', '5', '--bitrate', '1M']])
def test_a_malformed_command_line_is_argparse_status_2(extra, clip, model, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(clip), str(tmp_path / 'o.mp4'), *model, *extra])
    assert info.value.code == 2
    assert 'usage: realbasicvsr' in capsys.readouterr().err


@pytest.mark.parametrize('fps', [FPS_RANGE[0], FPS_RANGE[1]])
def test_the_ends_of_the_frame_rate_range_work(fps, clip, tmp_path):
    out = tmp_path / 'o.mkv'
    super_resolve(clip, out, model=tiny_net(), fps=fps, audio=False)
    assert len(read_video(out)) == 3


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


def test_library_noise_does_not_precede_the_one_error_line(model, tmp_path):
    """FFmpeg's own log lines (C-level stderr) and Python warnings are held back."""
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'\x00\x00\x00\x18ftypmp42' + os.urandom(4000))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                       os.environ.get('PYTHONPATH', '')]))
    done = subprocess.run([sys.executable, '-m', 'realbasicvsr_command', str(garbage),
                           str(tmp_path / 'o.mp4'), *model], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 1
    assert done.stderr.count('\n') == 1 and done.stderr.startswith('realbasicvsr: error: '), \
        done.stderr
