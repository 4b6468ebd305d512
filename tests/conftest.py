"""Shared fixtures. Every test runs on CPU at toy sizes."""
import functools
import http.server
import os
import threading
from pathlib import Path

import cv2
import numpy as np
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


@pytest.fixture
def serve():
    """Serve folders on 127.0.0.1, each in a thread (downloads are tested against these only).

    Yields a function ``folder -> (base URL, request paths)``; the servers stop after the test.
    """
    servers = []

    def start(folder):
        requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), functools.partial(Handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f'http://127.0.0.1:{server.server_address[1]}/', requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def calibration_image(name: str) -> np.ndarray:
    """A calibration image of ``tests/data/calibration`` (``I03``, ``I04``), BGR uint8."""
    img = cv2.imread(str(DATA / 'calibration' / f'{name}.bmp'), cv2.IMREAD_COLOR)
    assert img is not None, name
    return img


def distorted(img: np.ndarray, distortion: str) -> np.ndarray:
    """``img`` blurred (``'blur'``: Gaussian, sigma 3) or noisier (``'noise'``: Gaussian noise,
    sigma 25, seed 0), the distortions that raise a no-reference score."""
    if distortion == 'blur':
        return cv2.GaussianBlur(img, (0, 0), 3)
    noise = np.random.default_rng(0).normal(0, 25, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


TINY_NET = dict(mid_channels=8, num_propagation_blocks=2, num_cleaning_blocks=2)


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """The command-line options of a toy model (config + MMagic-layout checkpoint), made once per
    test module, with the progress bar off."""
    from test_inference_utils import write_tiny_model
    config, checkpoint, _ = write_tiny_model(tmp_path_factory.mktemp('model'))
    return ['--config', str(config), '--checkpoint', str(checkpoint), '--no-progress']
