"""Shared fixtures. Every test runs on CPU at toy sizes."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / 'tests' / 'data'

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _plugin_scope():
    """Components resolve in the plugin's scope, as under ``default_scope='realbasicvsr_plugin'``."""
    import realbasicvsr_plugin  # noqa: F401
    from mmengine.registry import DefaultScope
    from mmengine.registry import init_default_scope
    init_default_scope('realbasicvsr_plugin')
    yield


@pytest.fixture
def data_dir() -> Path:
    """``tests/data``: the calibration images and the BRISQUE model (see its README)."""
    return DATA


TINY_NET = dict(mid_channels=8, num_propagation_blocks=2, num_cleaning_blocks=2)
