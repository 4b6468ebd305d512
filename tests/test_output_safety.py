"""The command never destroys a file it was not asked to write, and fails before the work.

Claims (issue 19, parts 1-3 and the output points of part 7):
* ``--overwrite`` replaces a frames folder only if it holds nothing but the command's own frame
  files; a folder holding anything else is refused before any work, naming one such file;
* two runs to the same output: the one that finishes second keeps the first one's output and
  says so in one line, exit status 1 (real processes);
* an output that cannot be created fails before the model runs, naming the path and the cause;
* temporary outputs left by a killed process are removed by the next run to the same output;
* a full disk while writing PNG frames is reported as such, with a path that exists;
* ``-`` as the output is refused.
"""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realbasicvsr_plugin.apis import InferenceError, super_resolve
from realbasicvsr_plugin.apis.atomic_output import (AtomicOutput, OutputExistsError,
                                                    rename_no_replace)
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.streaming_inferencer import StreamingInferencer
from test_inference_utils import moving_frames, read_video, write_frames, write_video

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp('clip') / 'clip.mp4', moving_frames(t=4))


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_line(code, err, *needles):
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith('realbasicvsr: error: '), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def no_model_work(monkeypatch):
    """Make any network call fail the test: the check must come before the work."""
    def model_fn(self, lqs):
        raise AssertionError('the network ran before the output was checked')

    monkeypatch.setattr(StreamingInferencer, 'model_frames', model_fn)


# ------------------------------------------------------------------ part 1: --overwrite
def test_overwrite_refuses_a_folder_holding_other_files(clip, model, tmp_path, capsys,
                                                        monkeypatch):
    folder = tmp_path / 'p'
    folder.mkdir()
    (folder / '00000000.png').write_bytes(b'an old frame')
    (folder / 'precious.txt').write_text('keep me')
    no_model_work(monkeypatch)
    code, err = run_cli([clip, folder, *model, '--overwrite'], capsys)
    one_line(code, err, "'precious.txt'", 'not a frame', '--overwrite')
    assert (folder / 'precious.txt').read_text() == 'keep me'
    assert (folder / '00000000.png').read_bytes() == b'an old frame'
    assert sorted(os.listdir(tmp_path)) == ['p']
    # without the other file, the folder of frames is replaced as before
    (folder / 'precious.txt').unlink()
    monkeypatch.undo()
    assert run_cli([clip, folder, *model, '--overwrite'], capsys)[0] == 0
    assert sorted(os.listdir(folder)) == [f'{i:08d}.png' for i in range(4)]


def test_overwrite_refuses_a_folder_holding_a_subfolder(clip, model, tmp_path, capsys):
    folder = tmp_path / 'p'
    (folder / 'album').mkdir(parents=True)
    code, err = run_cli([clip, folder, *model, '--overwrite'], capsys)
    one_line(code, err, "'album/'")
    assert (folder / 'album').is_dir()


def test_overwrite_of_a_folder_of_frames_named_after_the_input_frames(model, tmp_path, capsys):
    source = write_frames(tmp_path / 'in', moving_frames(t=3))
    out = tmp_path / 'out'
    assert run_cli([source, out, *model], capsys)[0] == 0
    assert sorted(os.listdir(out)) == ['00000.png', '00001.png', '00002.png']
    assert run_cli([source, out, *model, '--overwrite'], capsys)[0] == 0
    (out / 'notes.md').write_text('mine')
    one_line(*run_cli([source, out, *model, '--overwrite'], capsys), "'notes.md'")


def test_files_added_to_the_folder_during_the_run_are_not_deleted(tmp_path):
    folder = tmp_path / 'p'
    folder.mkdir()
    (folder / '00000000.png').write_bytes(b'old')
    output = AtomicOutput(folder, is_dir=True, overwrite=True)
    (output.temp_path / '00000000.png').write_bytes(b'new')
    (folder / 'added-meanwhile.txt').write_text('keep me')
    with pytest.raises(InferenceError, match='added-meanwhile.txt'):
        output.commit()
    assert (folder / 'added-meanwhile.txt').read_text() == 'keep me'
    assert not output.temp_path.exists()


# ------------------------------------------------------------------ part 2: concurrent runs
def test_rename_no_replace_never_replaces(tmp_path):
    for kind in ('file', 'folder'):
        src, dst = tmp_path / f'src_{kind}', tmp_path / f'dst_{kind}'
        if kind == 'file':
            src.write_text('new')
            dst.write_text('old')
        else:
            src.mkdir()
            dst.mkdir()  # empty: a plain rename(2) would replace it
        with pytest.raises(FileExistsError):
            rename_no_replace(src, dst)
        assert src.exists() and dst.exists()
        if kind == 'file':
            assert dst.read_text() == 'old'
    rename_no_replace(tmp_path / 'src_file', tmp_path / 'free')
    assert (tmp_path / 'free').read_text() == 'new' and not (tmp_path / 'src_file').exists()


def _command(args):
    return [sys.executable, '-m', 'realbasicvsr_command', *[str(a) for a in args]]


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get(
        'PYTHONPATH', '')]))


def _wait_until_writing(folder: Path, proc, timeout=120):
    """Until the run's temporary output holds data: its first frames are written."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        for entry in folder.iterdir():
            if '.partial-' in entry.name and (
                    any(entry.iterdir()) if entry.is_dir() else entry.stat().st_size > 0):
                return
        time.sleep(0.01)
    raise AssertionError(f'the run wrote nothing: {proc.communicate()[1][-2000:]}')


@pytest.mark.parametrize('name', ['o.avi', 'frames'])
def test_two_concurrent_runs_do_not_clobber_each_other(clip, model, tmp_path, name):
    """Run A is frozen (SIGSTOP) while it writes its frames; run B writes the same output and
    finishes; A resumes, finishes, and must not replace B's output."""
    long_clip = write_video(tmp_path / 'long.mp4', moving_frames(t=12))
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    out = out_dir / name
    # PNG-coded video frames (about 48 kB each) pass FFmpeg's 32 kB write buffer at once, so
    # the file grows as frames are written
    codec = ['--codec', 'png', '--pix-fmt', 'rgb24'] if name.endswith('.avi') else []
    first = subprocess.Popen(_command([long_clip, out, *model, *codec, '--max-seq-len', '2',
                                       '--overlap', '0']), env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_writing(out_dir, first)
        first.send_signal(signal.SIGSTOP)
        second = subprocess.run(_command([clip, out, *model, *codec, '--end', '3']), env=_env(),
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=300)
    lines = err.strip().splitlines()
    assert first.returncode == 1 and len(lines) == 1, err
    assert 'appeared while this run was writing it' in lines[0] and '--overwrite' in lines[0]
    # the output is the second run's (3 frames), and nothing else is left
    frames = len(read_video(out)) if name.endswith('.avi') else len(os.listdir(out))
    assert frames == 3
    assert os.listdir(out_dir) == [name]


def test_without_overwrite_commit_keeps_an_output_that_appeared(tmp_path):
    out = tmp_path / 'o.mp4'
    output = AtomicOutput(out, is_dir=False)
    output.temp_path.write_bytes(b'this run')
    out.write_bytes(b'the other run')
    with pytest.raises(OutputExistsError) as info:
        output.commit()
    assert info.value.param == 'overwrite' and 'overwrite=True' in str(info.value)
    assert out.read_bytes() == b'the other run'
    assert os.listdir(tmp_path) == ['o.mp4']


# ------------------------------------------------------------------ part 3: unwritable output
def test_unwritable_output_fails_before_the_model_and_names_the_path(clip, model, capsys,
                                                                     monkeypatch):
    no_model_work(monkeypatch)
    loaded = []
    from realbasicvsr_plugin.apis import inference
    monkeypatch.setattr(inference, 'load_model', lambda *a, **k: loaded.append(1))
    code, err = run_cli([clip, '/proc/o.mp4', *model], capsys)
    one_line(code, err, "cannot write output '/proc/o.mp4': No such file or directory")
    code, err = run_cli([clip, '/proc/frames', *model], capsys)
    one_line(code, err, "cannot write output '/proc/frames'")
    assert loaded == []


def test_parent_folders_created_for_an_output_are_removed_on_failure(clip, model, tmp_path,
                                                                     capsys, monkeypatch):
    def model_fn(self, lqs):
        raise RuntimeError('simulated failure')

    monkeypatch.setattr(StreamingInferencer, 'model_frames', model_fn)
    code, err = run_cli([clip, tmp_path / 'a' / 'b' / 'o.mp4', *model], capsys)
    one_line(code, err, 'simulated failure')
    assert os.listdir(tmp_path) == []


def test_output_dash_is_refused(clip, model, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run_cli([clip, '-', *model], capsys)
    one_line(code, err, "output '-'", 'standard output')
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ part 4: stale temporaries
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_processes_are_removed(clip, model, tmp_path, capsys):
    dead = _dead_pid()
    stale_file = tmp_path / f'.o.partial-{dead}.mp4'
    stale_file.write_bytes(b'left by a SIGKILL')
    alive = tmp_path / f'.o.partial-{os.getppid()}.mp4'  # a running process: not touched
    alive.write_bytes(b'still being written')
    other = tmp_path / f'.other.partial-{dead}.mp4'  # another output: not touched
    other.write_bytes(b'x')
    code, err = run_cli([clip, tmp_path / 'o.mp4', *model], capsys)
    assert code == 0, err
    assert sorted(os.listdir(tmp_path)) == sorted(['o.mp4', alive.name, other.name])


def test_a_folder_moved_aside_by_a_killed_run_is_restored(tmp_path):
    dead = _dead_pid()
    aside = tmp_path / f'.frames.replaced-{dead}'
    aside.mkdir()
    (aside / '00000000.png').write_bytes(b'the old output')
    partial = tmp_path / f'.frames.partial-{dead}'
    partial.mkdir()
    output = AtomicOutput(tmp_path / 'frames', is_dir=True, overwrite=True)
    output.discard()
    assert (tmp_path / 'frames' / '00000000.png').read_bytes() == b'the old output'
    assert os.listdir(tmp_path) == ['frames']


# ------------------------------------------------------------------ disk full
def _mount_tmpfs(folder: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    folder.mkdir()
    done = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(folder)],
                          capture_output=True)
    return done.returncode == 0


def test_disk_full_while_writing_frames_names_the_cause(clip, model, tmp_path, capsys,
                                                        monkeypatch):
    disk = tmp_path / 'disk'
    mounted = _mount_tmpfs(disk, '64k')  # 4 frames of 128x128 PNG need more than that
    try:
        if not mounted:  # no tmpfs here: simulate ENOSPC where the frames are written
            disk.mkdir(exist_ok=True)
            real = Path.write_bytes

            def write_bytes(self, data):
                if '.partial-' in str(self) and self.name.startswith('00000002'):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
                return real(self, data)

            monkeypatch.setattr(Path, 'write_bytes', write_bytes)
        code, err = run_cli([clip, disk / 'frames', *model, '--png-compression', '0'], capsys)
        line = one_line(code, err, "cannot write output '", 'No space left on device')
        written = line.split("writing frame '")[1].split("'")[0]
        assert Path(written).parent.name.startswith('.frames.partial-')  # where it was written
        assert os.listdir(disk) == []  # and it was removed
    finally:
        if mounted:
            subprocess.run(['umount', str(disk)], check=True)
