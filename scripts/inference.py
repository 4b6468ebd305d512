#!/usr/bin/env python
"""Restore a video, a folder of frames or an image with RealBasicVSR (streaming).

Same as the ``realbasicvsr`` command; see ``python scripts/inference.py --help`` and
docs/inference.md.
"""
import sys
from pathlib import Path

if __name__ == '__main__':
    # the entry point sits at the top of the source tree (installed as a top-level module)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from realbasicvsr_command import main

    sys.exit(main())
