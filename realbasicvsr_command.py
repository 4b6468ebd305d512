"""Entry point of the ``realbasicvsr`` command (``scripts/inference.py`` too).

It lives outside the ``realbasicvsr_plugin`` package on purpose: importing the package loads
torch, MMCV and MMagic, which takes several seconds, and a Ctrl-C during that start-up must end
with one line (``realbasicvsr: interrupted``, exit status 130), not a traceback of the imports.
Code that runs here does so before any of them. The command itself is
:func:`realbasicvsr_plugin.apis.cli.main`.
"""
import contextlib
import os
import signal
import sys
import threading
import warnings
from typing import Iterator, List, Optional

PROG = 'realbasicvsr'


@contextlib.contextmanager
def _interrupt_after_imports() -> Iterator[None]:
    """Hold a Ctrl-C that comes while torch, MMCV and MMagic are imported, and raise it after.

    A ``KeyboardInterrupt`` raised inside the initialisation of a compiled extension (pybind11)
    cannot be unwound there: the process aborts (``terminate called after throwing ...``, exit
    status -6). So the signal only sets a flag while the imports run, and is acted on once they
    are done. A second Ctrl-C while importing stops at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []

    def hold(signum, frame):
        if pending:
            raise KeyboardInterrupt
        pending.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None, exit_at_once_when_stopped: bool = True) -> int:
    """Import the command line, then run it.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv[1:]``).
        exit_at_once_when_stopped (bool): After SIGINT or SIGTERM (exit status 130 or 143), once
            the command has removed its unfinished output and printed its line, end the process
            with :func:`os._exit`: the interpreter's teardown of torch and MMagic takes seconds
            (7-11 s measured on a loaded 2-core machine), and a service manager sends SIGKILL
            about 10 s after SIGTERM. Defaults to True.

    Returns:
        int: The exit status (see :mod:`realbasicvsr_plugin.apis.cli`).
    """
    debug = '--debug' in (sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings(), _interrupt_after_imports():
            # MMagic's dependencies (diffusers, timm) print deprecation notices when imported;
            # they are not the user's concern and would bury the command's one-line messages
            warnings.simplefilter('ignore')
            from realbasicvsr_plugin.apis.cli import main as run
        status = run(argv)
    except KeyboardInterrupt:  # before (or after) the command's own signal handling
        if debug:
            raise
        print(f'{PROG}: interrupted', file=sys.stderr)
        status = 130
    if exit_at_once_when_stopped and status in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == '__main__':
    sys.exit(main())
