"""SIGTERM and SIGINT stop a run within about a second, even in the middle of a long network
call, and Ctrl-C during start-up prints one line (issue 19, part 4 and part 7)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from realbasicvsr_plugin.apis.cancellation import (Interrupted, Terminated, check_termination,
                                                   interruptible)
from realbasicvsr_plugin.apis.cli import _stop_on_signals
from test_inference_utils import moving_frames, write_video

REPO = Path(__file__).resolve().parents[1]

#: A network heavy enough that one chunk takes many seconds on a CPU.
HEAVY_CONFIG = """
default_scope = 'realbasicvsr_plugin'
model = dict(type='realbasicvsr_plugin.RealBasicVSRNet', mid_channels=48,
             num_propagation_blocks=10, num_cleaning_blocks=4, dynamic_refine_thres=None,
             scale=4, min_size=32)
"""


@pytest.fixture(scope='module')
def heavy_model(tmp_path_factory):
    from realbasicvsr_plugin.models import RealBasicVSRNet

    folder = tmp_path_factory.mktemp('heavy')
    (folder / 'heavy.py').write_text(HEAVY_CONFIG)
    torch.manual_seed(0)
    net = RealBasicVSRNet(mid_channels=48, num_propagation_blocks=10, num_cleaning_blocks=4,
                          dynamic_refine_thres=None, min_size=32)
    torch.save(net.state_dict(), folder / 'heavy.pth')
    return ['--config', str(folder / 'heavy.py'), '--checkpoint', str(folder / 'heavy.pth'),
            '--device', 'cpu', '--no-progress']


def test_a_signal_inside_the_network_stops_at_once_and_outside_at_the_next_check():
    with _stop_on_signals():
        began = time.monotonic()
        with pytest.raises(Terminated):
            with interruptible():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # stands for a long torch call
        assert time.monotonic() - began < 1
        os.kill(os.getpid(), signal.SIGINT)  # outside: only requested ...
        time.sleep(0.05)
        with pytest.raises(Interrupted) as info:
            check_termination()  # ... and raised at the next safe point
        assert info.value.signum == signal.SIGINT and info.value.exit_status == 130


def _run_and_signal(args, out_dir: Path, sig: int, delay: float):
    """Start the command, wait until it writes its temporary output plus ``delay`` seconds (the
    network is then busy with its one long chunk), send ``sig``; return the seconds to exit,
    the exit status and stderr."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                       os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.Popen([sys.executable, '-m', 'realbasicvsr_command', *map(str, args)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not os.listdir(out_dir) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return time.monotonic() - sent, proc.returncode, err


@pytest.mark.parametrize('sig,status,word', [(signal.SIGTERM, 143, 'terminated'),
                                             (signal.SIGINT, 130, 'interrupted')])
def test_a_signal_during_a_long_chunk_stops_within_two_seconds(heavy_model, tmp_path, sig,
                                                               status, word):
    # (large enough that the one chunk takes many seconds even on a quiet machine)
    clip = write_video(tmp_path / 'in.mp4', moving_frames(t=32, h=96, w=96))
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    # one chunk of 32 frames: the network runs for many seconds without returning
    seconds, code, err = _run_and_signal([clip, out_dir / 'frames', *heavy_model,
                                          '--max-seq-len', '0'], out_dir, sig, delay=2.0)
    assert code == status, err[-2000:]
    assert seconds < 2.0, f'took {seconds:.1f} s to stop'
    assert err.strip() == f'realbasicvsr: {word}; no output was written'
    assert os.listdir(out_dir) == []


@pytest.mark.parametrize('entry', ['module', 'script'])
def test_ctrl_c_during_start_up_prints_one_line(tmp_path, entry):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                       os.environ.get('PYTHONPATH', '')]))
    command = ['-m', 'realbasicvsr_command'] if entry == 'module' else \
        [str(REPO / 'scripts' / 'inference.py')]
    proc = subprocess.Popen([sys.executable, *command, str(tmp_path / 'in.mp4'),
                             str(tmp_path / 'o.mp4')], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # importing torch and MMagic takes several seconds
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip() == 'realbasicvsr: interrupted', err[-2000:]
