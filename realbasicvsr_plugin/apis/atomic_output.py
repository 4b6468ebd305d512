"""Write-then-rename outputs: a crash or Ctrl-C never leaves a truncated result behind.

The result is written to a hidden temporary file (or folder) in the same folder as the output, so
the final :func:`os.replace` is a rename on one file system. Until it is committed, an existing
output is left untouched; the input is never a possible target.
"""
import os
import shutil
from pathlib import Path
from typing import Iterable, Optional, Union

from .errors import InferenceError


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


def check_output_path(path: Union[str, Path], is_dir: bool, overwrite: bool = False,
                      inputs: Iterable[Union[str, Path]] = ()) -> None:
    """Check that ``path`` may be written, without touching the file system.

    Args:
        path (str | Path): The final output file or folder.
        is_dir (bool): Whether the output is a folder (of frames) rather than a file.
        overwrite (bool): Allow replacing an existing output. Defaults to False.
        inputs (Iterable[str | Path]): Paths that must never be written over or removed.

    Raises:
        InferenceError: The output is an input, contains an input, exists without
            ``overwrite``, exists as the other kind (file vs folder), or its parent is a file.
    """
    path = Path(path)
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
                f"output '{path}' already exists; pass --overwrite to replace it")
        if path.is_dir() != is_dir:
            kind = 'a folder' if path.is_dir() else 'a file'
            want = 'a folder of frames' if is_dir else 'a file'
            raise InferenceError(f"output '{path}' is {kind} and cannot be replaced by {want}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InferenceError(f"cannot write '{path}': '{parent}' is not a folder")
            break


class AtomicOutput:
    """A temporary path beside ``path`` that replaces ``path`` only on :meth:`commit`.

    Args:
        path (str | Path): The final output file or folder.
        is_dir (bool): Whether the output is a folder (of frames) rather than a file.
        overwrite (bool): Allow replacing an existing output. Defaults to False.
        inputs (Iterable[str | Path]): Paths that must never be written over or removed (the
            input video, folder or image). Defaults to none.

    Raises:
        InferenceError: The output is an input, contains an input, exists without
            ``overwrite``, or exists as the other kind (file vs folder).
    """

    def __init__(self, path: Union[str, Path], is_dir: bool, overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = ()) -> None:
        self.path = Path(path)
        self.is_dir = is_dir
        self.overwrite = overwrite
        check_output_path(self.path, is_dir, overwrite, inputs)
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        self.temp_path = parent / f'.{self.path.stem}.partial-{os.getpid()}{self.path.suffix}'
        self._cleanup()
        if is_dir:
            self.temp_path.mkdir()
        self.committed = False

    def _cleanup(self) -> None:
        if self.temp_path.is_dir() and not self.temp_path.is_symlink():
            shutil.rmtree(self.temp_path, ignore_errors=True)
        elif self.temp_path.exists() or self.temp_path.is_symlink():
            self.temp_path.unlink()

    def commit(self) -> Path:
        """Move the finished temporary output into place.

        Returns:
            Path: The final output path.
        """
        if self.committed:
            return self.path
        if not self.is_dir:
            os.replace(self.temp_path, self.path)  # atomic on one file system
        else:
            old: Optional[Path] = None
            if self.path.exists():
                old = self.path.parent / f'.{self.path.name}.replaced-{os.getpid()}'
                os.replace(self.path, old)
            try:
                os.replace(self.temp_path, self.path)
            except BaseException:
                if old is not None:
                    os.replace(old, self.path)
                raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.committed = True
        return self.path

    def discard(self) -> None:
        """Remove the temporary output (the existing output, if any, is untouched)."""
        if not self.committed:
            self._cleanup()
