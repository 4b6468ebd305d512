"""Stopping a run on SIGTERM at a safe point.

Raising from a signal handler interrupts whatever Python code runs at that moment, PyAV's encoder
and decoder wrappers included, and closing a half-updated codec can then block. The command line's
SIGTERM handler therefore only *requests* termination; the streaming loop checks the request
between frames, where every object is in a consistent state, and raises :class:`Terminated` there
(a second SIGTERM raises at once).
"""
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the unfinished output is removed on the way out."""


_requested = threading.Event()


def request_termination() -> None:
    """Ask the running job to stop at its next safe point (a second request stops it at once)."""
    if _requested.is_set():
        raise Terminated()
    _requested.set()


def check_termination() -> None:
    """Raise :class:`Terminated` if termination was requested."""
    if _requested.is_set():
        _requested.clear()
        raise Terminated()


def reset_termination() -> None:
    """Forget a pending request (at the end of a command)."""
    _requested.clear()
