"""Stopping a run on SIGTERM or SIGINT (Ctrl-C) promptly, at a safe point.

Raising from a signal handler interrupts whatever Python code runs at that moment, PyAV's encoder
and decoder wrappers included, and closing a half-updated codec can then block. The command
line's handler (:func:`request_stop`) therefore raises at once only while the main thread runs
the network (inside :func:`interruptible`: torch code only, which unwinds cleanly, so a signal is
acted on when the current tensor operation returns); anywhere else it only *requests* the stop,
and the streaming loop checks the request (:func:`check_termination`) between frames, tiles and
network calls, where every object is in a consistent state. A second signal raises at once.
"""
import contextlib
import signal
import threading
from typing import Iterator, Optional


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal, raised like Ctrl-C so that the unfinished output is removed
    on the way out.

    Args:
        signum (int): The signal (SIGINT by default).
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__()
        self.signum = int(signum)

    @property
    def exit_status(self) -> int:
        """The shell's status for a command stopped by this signal: 128 + its number."""
        return 128 + self.signum


class Terminated(Interrupted):
    """SIGTERM (``kill``, ``timeout``, service managers, container stops)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)


def stop_error(signum: int) -> Interrupted:
    """The exception for a stop asked for by ``signum``.

    Args:
        signum (int): The signal.

    Returns:
        Interrupted: :class:`Terminated` for SIGTERM, else :class:`Interrupted`.
    """
    return Terminated(signum) if signum == signal.SIGTERM else Interrupted(signum)


_requested: Optional[int] = None  # the signal of a pending stop request
_immediate = 0  # depth of interruptible() blocks entered by the main thread


def request_stop(signum: int = signal.SIGTERM) -> None:
    """Ask the running job to stop: at once inside :func:`interruptible` code of the main thread
    or when a stop was already requested, else at its next safe point.

    Args:
        signum (int): The signal that asks (decides the exception and the exit status).

    Raises:
        Interrupted: When the stop happens at once.
    """
    global _requested
    if _immediate > 0 or _requested is not None:
        _requested = None
        raise stop_error(signum)
    _requested = int(signum)


def request_termination() -> None:
    """Ask the running job to stop for SIGTERM (see :func:`request_stop`)."""
    request_stop(signal.SIGTERM)


def check_termination() -> None:
    """Raise the pending stop request, if any.

    Raises:
        Interrupted: A stop was requested.
    """
    global _requested
    signum, _requested = _requested, None  # no call in between: no signal handler runs there
    if signum is not None:
        raise stop_error(signum)


def reset_termination() -> None:
    """Forget a pending request and any interruptible block left by an exception (at the end of
    a command)."""
    global _requested, _immediate
    _requested = None
    _immediate = 0


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Mark a block that a stop signal may interrupt at once: network code, no PyAV, no open
    files being written. A pending request is acted on when the block is entered."""
    global _immediate
    main = threading.current_thread() is threading.main_thread()
    if main:
        _immediate += 1
    try:
        check_termination()
        yield
    finally:
        if main:
            _immediate -= 1
