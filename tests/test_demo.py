"""The README's main job: scripts/demo.py restores a clip with the shipped demo model."""
import subprocess
import sys

import av
import cv2
import numpy as np

from conftest import REPO
from tiny_training import smooth_frame


def write_clip(path, frames=4, size=(32, 48)):
    rng = np.random.default_rng(0)
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('libx264', rate=24)
        stream.width, stream.height, stream.pix_fmt = size[1], size[0], 'yuv420p'
        for i in range(frames):
            img = smooth_frame(rng, size[0], size[1], shift=i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_demo_restores_a_clip_with_the_shipped_model(tmp_path):
    clip = tmp_path / 'lq.mp4'
    write_clip(clip)
    out = subprocess.run([sys.executable, str(REPO / 'scripts' / 'demo.py'), '--input', str(clip),
                          '--out-dir', str(tmp_path / 'out')], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '4 frames of 48x32 -> 192x128' in out.stdout
    with av.open(str(tmp_path / 'out' / 'demo_x4.mp4')) as container:
        frames = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    assert len(frames) == 4 and frames[0].shape == (128, 192, 3)
    compare = cv2.imread(str(tmp_path / 'out' / 'demo_compare.png'))
    assert compare.shape == (128, 384, 3)


def test_the_shipped_demo_clip_is_there():
    with av.open(str(REPO / 'realbasicvsr_plugin' / 'demo' / 'coffee_lq.mp4')) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 48
