"""Write-then-rename outputs: a crash or Ctrl-C never leaves a truncated result behind, and a
finished result never destroys a file it was not asked to replace.

The result is written to a hidden temporary file (or folder) ``.<stem>.partial-<pid><suffix>`` in
the same folder as the output, created when the output is opened (before any model work, so an
unwritable location is reported at once, with its path). :meth:`AtomicOutput.commit` then renames
it into place on one file system:

* without ``overwrite`` the rename refuses to replace anything (``renameat2(RENAME_NOREPLACE)``
  on Linux, else a hard link for files): an output that another run created meanwhile is kept,
  and this run fails with :class:`OutputExistsError` instead of silently replacing it;
* with ``overwrite`` a file is replaced atomically; a folder is replaced as a whole, but only if it
  holds nothing except the frame files the command writes (``00000000.png``, ... or the input
  frames' names): a folder holding any other file is refused, naming that file, before any work;
* temporary outputs left by a process that no longer runs (killed by SIGKILL) are removed by the
  next run to the same output.

The input is never a possible target.
"""
import contextlib
import ctypes
import errno
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Union

from .errors import InferenceError

#: A predicate on the names of the entries of an existing frames folder: True for the frame files
#: this command writes (which ``overwrite`` may replace).
FrameFileTest = Callable[[str], bool]

_NUMBERED_FRAME = re.compile(r'\d{8}\.png')


def is_numbered_frame(name: str) -> bool:
    """Whether ``name`` is a frame file as written for a video input (``00000012.png``).

    Args:
        name (str): A file name.

    Returns:
        bool: True for an eight-digit PNG file name.
    """
    return _NUMBERED_FRAME.fullmatch(name) is not None


def frame_file_test(stems: Iterable[str] = ()) -> FrameFileTest:
    """The frame files a run writes: numbered PNGs and PNGs named after the given input frames.

    Args:
        stems (Iterable[str]): File stems of the input frames (a folder input keeps them).

    Returns:
        FrameFileTest: The predicate.
    """
    names = {f'{stem}.png' for stem in stems}
    return lambda name: name in names or is_numbered_frame(name)


class OutputExistsError(InferenceError):
    """The output appeared while this run was writing it (another run?); it was left as it is."""


def _is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both resolved)."""
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _foreign_entry(folder: Path, is_frame_file: FrameFileTest) -> Optional[str]:
    """The name of one entry of ``folder`` that is not a frame file, or None."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not (entry.is_file(follow_symlinks=False) and is_frame_file(entry.name)):
            return entry.name + ('/' if entry.is_dir(follow_symlinks=False) else '')
    return None


def check_output_path(path: Union[str, Path], is_dir: bool, overwrite: bool = False,
                      inputs: Iterable[Union[str, Path]] = (),
                      frame_files: Optional[FrameFileTest] = None) -> None:
    """Check that ``path`` may be written, without touching the file system.

    Args:
        path (str | Path): The final output file or folder.
        is_dir (bool): Whether the output is a folder (of frames) rather than a file.
        overwrite (bool): Allow replacing an existing output. Defaults to False.
        inputs (Iterable[str | Path]): Paths that must never be written over or removed.
        frame_files (FrameFileTest, optional): For a folder output, the names of the frame files
            this run writes; an existing folder holding anything else is refused even with
            ``overwrite``. None skips that check (done again when the output is opened).

    Raises:
        InferenceError: The output is ``-``, an input, contains an input, exists without
            ``overwrite``, exists as the other kind (file vs folder), holds other files than
            frames, or its parent is a file.
    """
    path = Path(path)
    if str(path) == '-':
        raise InferenceError("output '-': writing to standard output is not supported; give a "
                             'file or folder name')
    resolved = path.resolve()
    for source in inputs:
        source = Path(source)
        if _same_file(source, path):
            raise InferenceError(f"output '{path}' is the input; choose another path")
        if _is_within(source.resolve(), resolved):
            raise InferenceError(
                f"output '{path}' contains the input '{source}'; choose another path")
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise InferenceError(
                f"output '{path}' already exists; pass overwrite=True to replace it",
                param='overwrite')
        if path.is_dir() != is_dir:
            kind = 'a folder' if path.is_dir() else 'a file'
            want = 'a folder of frames' if is_dir else 'a file'
            raise InferenceError(f"output '{path}' is {kind} and cannot be replaced by {want}")
        if is_dir and frame_files is not None:
            foreign = _foreign_entry(path, frame_files)
            if foreign is not None:
                raise InferenceError(
                    f"output folder '{path}' holds '{foreign}', which is not a frame this "
                    'command writes; overwrite replaces only a folder of its own frames: '
                    'choose another folder, or remove that file', param='overwrite')
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InferenceError(f"cannot write output '{path}': '{parent}' is not a folder")
            break


# ------------------------------------------------------------------ renames
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _renameat2():
    if not sys.platform.startswith('linux'):
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (AttributeError, OSError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_RENAMEAT2 = _renameat2()


def rename_no_replace(src: Union[str, Path], dst: Union[str, Path]) -> None:
    """Rename ``src`` to ``dst`` atomically, failing if ``dst`` exists (never replacing it).

    Uses ``renameat2(..., RENAME_NOREPLACE)`` where the kernel and file system have it; else,
    for a file, a hard link to ``dst`` (which fails if ``dst`` exists) and the removal of ``src``;
    else a check and a rename (which leaves a short race).

    Args:
        src (str | Path): The file or folder to move.
        dst (str | Path): Its new name, on the same file system.

    Raises:
        FileExistsError: ``dst`` exists.
        OSError: The rename failed otherwise.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst),
                      _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), src, None, dst)
    if not os.path.isdir(src):
        try:
            os.link(src, dst)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system
            pass
        else:
            os.unlink(src)
            return
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.rename(src, dst)


# ------------------------------------------------------------------ leftovers of killed runs
def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_stale_temporaries(path: Union[str, Path]) -> List[Path]:
    """Clean up after runs to ``path`` that were killed (SIGKILL, power loss).

    A temporary output ``.<stem>.partial-<pid><suffix>`` whose process no longer runs is removed.
    A folder that such a process had moved aside to replace it (``.<name>.replaced-<pid>``) is
    moved back when the output is missing (the kill came between the two renames), else removed.

    Args:
        path (str | Path): The final output.

    Returns:
        list[Path]: The temporary paths removed or restored.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path('.')
    if not parent.is_dir():
        return []
    partial = re.compile(re.escape(f'.{path.stem}.partial-') + r'(\d+)' + re.escape(path.suffix))
    replaced = re.compile(re.escape(f'.{path.name}.replaced-') + r'(\d+)')
    done = []
    for entry in sorted(parent.iterdir()):
        for pattern in (partial, replaced):
            match = pattern.fullmatch(entry.name)
            if match is None or _pid_alive(int(match.group(1))):
                continue
            if pattern is replaced and not (path.exists() or path.is_symlink()):
                os.rename(entry, path)
            else:
                _remove(entry)
            done.append(entry)
    return done


class AtomicOutput:
    """A temporary path beside ``path`` that replaces ``path`` only on :meth:`commit`.

    The temporary file (empty) or folder is created at once, so an output that cannot be written
    fails here: ``cannot write output '/proc/o.mp4': No such file or directory``. Missing parent
    folders are created, and removed again by :meth:`discard` if still empty.

    Args:
        path (str | Path): The final output file or folder.
        is_dir (bool): Whether the output is a folder (of frames) rather than a file.
        overwrite (bool): Allow replacing an existing output. Defaults to False.
        inputs (Iterable[str | Path]): Paths that must never be written over or removed (the
            input video, folder or image). Defaults to none.
        frame_files (FrameFileTest, optional): For a folder output, the names of the frame files
            this run writes; with ``overwrite``, an existing folder that holds anything else is
            refused. Defaults to :func:`is_numbered_frame`.

    Raises:
        InferenceError: The output is an input, contains an input, exists without
            ``overwrite``, exists as the other kind (file vs folder), holds other files than
            frames, or cannot be created.
    """

    def __init__(self, path: Union[str, Path], is_dir: bool, overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = (),
                 frame_files: Optional[FrameFileTest] = None) -> None:
        self.path = Path(path)
        self.is_dir = is_dir
        self.overwrite = overwrite
        self.frame_files = frame_files or is_numbered_frame
        check_output_path(self.path, is_dir, overwrite, inputs, self.frame_files)
        self.committed = False
        parent = self.path.parent
        self.temp_path = parent / f'.{self.path.stem}.partial-{os.getpid()}{self.path.suffix}'
        self._made_parents: List[Path] = []
        try:
            missing = [p for p in [parent, *parent.parents] if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                self._made_parents.insert(0, folder)
            remove_stale_temporaries(self.path)
            check_output_path(self.path, is_dir, overwrite, inputs, self.frame_files)
            self._cleanup()
            if is_dir:
                self.temp_path.mkdir()
            else:
                os.close(os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except OSError as err:
            self.discard()
            raise InferenceError(f"cannot write output '{self.path}': "
                                 f'{err.strerror or err}') from err
        except BaseException:
            self.discard()
            raise

    def _cleanup(self) -> None:
        _remove(self.temp_path)

    def commit(self) -> Path:
        """Move the finished temporary output into place.

        Returns:
            Path: The final output path.

        Raises:
            OutputExistsError: Without ``overwrite``, the output appeared while this run was
                writing it (another run finished first); it is left as it is and this run's
                result is removed.
            InferenceError: With ``overwrite``, a folder output gained files other than frames
                while this run was writing.
        """
        if self.committed:
            return self.path
        try:
            if not self.overwrite:
                rename_no_replace(self.temp_path, self.path)
            elif not self.is_dir:
                os.replace(self.temp_path, self.path)  # atomic on one file system
            else:
                self._replace_folder()
        except FileExistsError:
            self.discard()
            raise OutputExistsError(
                f"output '{self.path}' appeared while this run was writing it (another run?); "
                "it was left as it is and this run's result was discarded (pass "
                'overwrite=True to replace it)', param='overwrite') from None
        except BaseException:
            self.discard()
            raise
        self.committed = True
        return self.path

    def _replace_folder(self) -> None:
        if not self.path.exists():
            rename_no_replace(self.temp_path, self.path)
            return
        # check again: files may have been added while this run was writing
        check_output_path(self.path, True, True, frame_files=self.frame_files)
        old = self.path.parent / f'.{self.path.name}.replaced-{os.getpid()}'
        os.replace(self.path, old)
        try:
            rename_no_replace(self.temp_path, self.path)
        except BaseException:
            os.replace(old, self.path)
            raise
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Remove the temporary output (the existing output, if any, is untouched), and the
        parent folders it created if they are empty."""
        if self.committed:
            return
        self._cleanup()
        for folder in self._made_parents:
            try:
                folder.rmdir()
            except OSError:
                break
        self._made_parents = []


@contextlib.contextmanager
def reserve_output(path: Union[str, Path], is_dir: bool, overwrite: bool = False,
                   inputs: Iterable[Union[str, Path]] = (),
                   frame_files: Optional[FrameFileTest] = None) -> Iterator[AtomicOutput]:
    """Create the temporary output now, before the work, and remove it on the way out unless a
    writer (with an :class:`AtomicOutput` of the same path, in this process) committed it.

    Args:
        path, is_dir, overwrite, inputs, frame_files: As for :class:`AtomicOutput`.

    Yields:
        AtomicOutput: The reservation.
    """
    output = AtomicOutput(path, is_dir, overwrite, inputs, frame_files)
    try:
        yield output
    finally:
        # the writer's AtomicOutput uses the same temporary path: after its commit or abort there
        # is nothing left to remove; after an error before the writer existed, this removes it
        output.discard()
