"""SIGTERM stops a run between frames: exit status 143, nothing left behind, no hang."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO
from realbasicvsr_plugin.apis.cancellation import (Terminated, check_termination,
                                                   request_termination, reset_termination)
from test_demo import write_clip


def test_a_request_is_acted_on_once_and_a_second_one_at_once():
    reset_termination()
    check_termination()  # nothing requested: no effect
    request_termination()
    with pytest.raises(Terminated):
        check_termination()
    check_termination()  # the request was consumed
    request_termination()
    with pytest.raises(Terminated):
        request_termination()  # a second SIGTERM does not wait for the loop
    reset_termination()


def test_kill_during_a_real_run_leaves_no_output(tmp_path):
    clip = tmp_path / 'in.mp4'
    write_clip(clip, frames=60)
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    proc = subprocess.Popen([sys.executable, str(REPO / 'scripts' / 'inference.py'), str(clip),
                             str(out_dir / 'x4.mp4'), '--max-seq-len', '2', '--overlap', '0',
                             '--device', 'cpu'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not os.listdir(out_dir) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)  # wait until the output is being written
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert 'terminated; no output was written' in err and 'Traceback' not in err
    assert os.listdir(out_dir) == []
