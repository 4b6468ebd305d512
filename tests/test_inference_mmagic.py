"""MMagic's own inferencer and demo run the plugin's model through the plugin's inference config.

Claims:
* ``MMagicInferencer(model_name='real_basicvsr', model_config=<plugin config>, model_ckpt=...)``
  builds the plugin's editor and network (not MMagic's classes of the same names), loads the EMA
  weights, and restores a video to the same frames as the plugin's own command;
* MMagic's demo script does the same from the command line (writing PNG frames: its video
  writer calls ``cv2.destroyAllWindows``, which the headless OpenCV build lacks).
"""
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from realbasicvsr_plugin.apis.cli import main
from test_inference_utils import moving_frames, tiny_net, write_tiny_model, write_video

REPO = Path(__file__).resolve().parents[1]
INFERENCE_CONFIG = REPO / 'configs' / 'realbasicvsr_x4_inference.py'

# the shipped inference config, shrunk to a toy network
TINY_FROM_INFERENCE_CONFIG = f"""
_base_ = [{str(INFERENCE_CONFIG)!r}]
model = dict(generator=dict(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1,
                            dynamic_refine_thres=None))
"""


def read_pngs(folder: Path) -> np.ndarray:
    import cv2
    return np.stack([cv2.imread(str(p), cv2.IMREAD_COLOR)[..., ::-1]
                     for p in sorted(folder.glob('*.png'))])


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('mmagic')
    config, checkpoint, ema = write_tiny_model(root, config_text=TINY_FROM_INFERENCE_CONFIG)
    frames = moving_frames(t=5, h=32, w=32)
    clip = write_video(root / 'clip.mp4', frames)
    return dict(root=root, config=config, checkpoint=checkpoint, ema=ema, frames=frames,
                clip=clip)


def test_mmagic_inferencer_runs_the_plugin_model(setup, tmp_path, capsys):
    from mmagic.apis import MMagicInferencer

    from realbasicvsr_plugin.models import RealBasicVSR, RealBasicVSRNet

    inferencer = MMagicInferencer(model_name='real_basicvsr', model_config=str(setup['config']),
                                  model_ckpt=str(setup['checkpoint']), device='cpu')
    model = inferencer.inferencer.inferencer.model
    assert type(model) is RealBasicVSR and type(model.generator_ema) is RealBasicVSRNet
    inferencer.infer(video=str(setup['clip']), result_out_dir=str(tmp_path / 'mmagic'))
    by_mmagic = read_pngs(tmp_path / 'mmagic')
    assert by_mmagic.shape == (5, 128, 128, 3)

    # the plugin's own command, whole clip at once, on the same config and checkpoint
    code = main([str(setup['clip']), str(tmp_path / 'plugin'), '--config', str(setup['config']),
                 '--checkpoint', str(setup['checkpoint']), '--max-seq-len', '0',
                 '--no-progress', '--quiet'])
    assert code == 0, capsys.readouterr().err
    by_plugin = read_pngs(tmp_path / 'plugin')
    assert np.abs(by_mmagic.astype(int) - by_plugin).max() <= 1
    # and both are the EMA network's output (the non-EMA weights would differ)
    other = tiny_net(seed=1)
    import torch
    lqs = torch.from_numpy(setup['frames']).permute(0, 3, 1, 2).float().div(255)[None]
    with torch.no_grad():
        non_ema = (other(lqs)[0].clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    assert np.abs(by_mmagic.astype(int) - non_ema).max() > 1


def test_mmagic_demo_script_runs_the_plugin_model(setup, tmp_path, monkeypatch):
    """MMagic's demo, PNG output (its video output needs a GUI build of OpenCV, see the docs).

    The demo runs in this process (as ``python demo.py ...`` would, through ``runpy``) to save
    the seconds of a second import of MMagic.
    """
    import mmagic

    demo = Path(mmagic.__file__).parent / '.mim' / 'demo' / 'mmagic_inference_demo.py'
    out = tmp_path / 'frames'
    monkeypatch.setattr(sys, 'argv', [
        str(demo), '--model-name', 'real_basicvsr', '--model-config', str(setup['config']),
        '--model-ckpt', str(setup['checkpoint']), '--video', str(setup['clip']),
        '--result-out-dir', str(out), '--device', 'cpu'])
    runpy.run_path(str(demo), run_name='__main__')
    restored = read_pngs(out)
    assert restored.shape == (5, 128, 128, 3)
    plugin = tmp_path / 'plugin'
    assert main([str(setup['clip']), str(plugin), '--config', str(setup['config']),
                 '--checkpoint', str(setup['checkpoint']), '--max-seq-len', '0',
                 '--quiet']) == 0
    assert np.abs(restored.astype(int) - read_pngs(plugin)).max() <= 1
