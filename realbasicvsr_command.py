"""Entry point of the ``realbasicvsr`` command (``scripts/inference.py`` too).

It lives outside the ``realbasicvsr_plugin`` package on purpose: importing the package loads
torch, MMCV and MMagic, which takes several seconds, and a Ctrl-C during that start-up must end
with one line (``realbasicvsr: interrupted``, exit status 130), not a traceback of the imports.
Code that runs here does so before any of them. The command itself is
:func:`realbasicvsr_plugin.apis.cli.main`.
"""
import sys
import warnings
from typing import List, Optional

PROG = 'realbasicvsr'


def main(argv: Optional[List[str]] = None) -> int:
    """Import the command line, then run it.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: The exit status (see :mod:`realbasicvsr_plugin.apis.cli`).
    """
    try:
        with warnings.catch_warnings():
            # MMagic's dependencies (diffusers, timm) print deprecation notices when imported;
            # they are not the user's concern and would bury the command's one-line messages
            warnings.simplefilter('ignore')
            from realbasicvsr_plugin.apis.cli import main as run
        return run(argv)
    except KeyboardInterrupt:  # before the command's own signal handling is in place
        if '--debug' in (sys.argv[1:] if argv is None else argv):
            raise
        print(f'{PROG}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
