#!/usr/bin/env python
"""Restore a video, a folder of frames or an image with RealBasicVSR (streaming).

Same as the ``realbasicvsr`` command; see ``python scripts/inference.py --help`` and
docs/inference.md.
"""
import sys
import warnings

with warnings.catch_warnings():
    # MMagic's dependencies (diffusers, timm) print deprecation notices when imported; they are
    # not the user's concern and would bury the command's one-line messages.
    warnings.simplefilter('ignore')
    from realbasicvsr_plugin.apis.cli import main

if __name__ == '__main__':
    sys.exit(main())
