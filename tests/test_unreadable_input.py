"""An input the user may not read is called unreadable, not corrupt (issue 19, part 7).

The tests run as root here, for whom permissions do not apply: the unreadable case is then made
real by dropping the effective user id to ``nobody`` around the call (and back), so that the
kernel refuses the read as it would for an ordinary user.
"""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from realbasicvsr_plugin.apis import InferenceError, open_frame_reader
from test_inference_utils import moving_frames, write_frames, write_video

NOBODY = 65534


@contextlib.contextmanager
def as_ordinary_user():
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def open_folder():
    """A folder every user may enter (pytest's own temporary root is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix='unreadable-'))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.parametrize('kind', ['video', 'image', 'folder'])
def test_a_file_without_read_permission_is_unreadable_not_corrupt(kind, open_folder):
    if kind == 'video':
        source = write_video(open_folder / 'locked.mp4', moving_frames(t=2))
    elif kind == 'image':
        source = write_frames(open_folder / 'frames', moving_frames(t=1)) / '00000.png'
        source.parent.chmod(0o755)
    else:
        source = write_frames(open_folder / 'locked', moving_frames(t=1))
    source.chmod(0o000)
    try:
        with as_ordinary_user(), pytest.raises(InferenceError) as info:
            open_frame_reader(source)
    finally:
        source.chmod(0o755)
    message = str(info.value)
    assert message == f"cannot read input '{source}': Permission denied"
