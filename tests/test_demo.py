"""The README's main job: scripts/demo.py restores a clip with the shipped demo model."""
import itertools
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest
import torch

from conftest import REPO
from realbasicvsr_plugin.apis import StreamingInferencer, build_generator
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
    assert compare.shape == (256, 384, 3)  # whole frames over a x2 crop


def test_the_shipped_demo_clip_is_there():
    with av.open(str(REPO / 'realbasicvsr_plugin' / 'demo' / 'coffee_lq.mp4')) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 48


def load_script(name):
    """A module of ``scripts/`` by file name (the scripts are not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, REPO / 'scripts' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_comparison_zooms_into_the_most_detailed_part():
    demo = load_script('demo')
    lq = np.full((16, 24, 3), 128, np.uint8)
    sr = np.full((64, 96, 3), 128, np.uint8)
    sr[40:60, 70:90] = np.indices((20, 20)).sum(0)[..., None] % 2 * 255  # a checkerboard
    y, x = demo.detailed_window(sr, (32, 48))
    assert y <= 40 and y + 32 >= 60 and x <= 70 and x + 48 >= 90  # the window holds it all
    compare = demo.side_by_side(lq, sr)
    assert compare.shape == (128, 192, 3)
    # bottom right: the model's crop enlarged twice by nearest neighbour (below its label)
    zoomed = compare[64:, 96:]
    np.testing.assert_array_equal(zoomed[32::2, ::2], sr[y + 16:y + 32, x:x + 48])
    # bottom left: the same window of the bicubic input, flat
    assert np.ptp(compare[64 + 32:, :96]) == 0


def test_flat_colour_measure_reports_a_colour_shift():
    evaluate = load_script('evaluate_demo_model')

    class Shift(torch.nn.Module):
        scale = 4

        def forward(self, lqs):
            out = torch.nn.functional.interpolate(lqs.flatten(0, 1), scale_factor=4)
            out[:, 1] -= 20 / 255  # green channel 20 levels low
            return out.unflatten(0, lqs.shape[:2])

    result = evaluate.evaluate_flat_colours(StreamingInferencer(Shift(), device='cpu',
                                                                channels_last=False),
                                            size=8, frames=2)
    assert abs(result['patches']['green']['max_error'] - 20) < 0.6
    assert result['patches']['red']['max_error'] == 0  # green is 0 there, clipped at 0
    assert abs(result['max_error'] - 20) < 0.6


def test_evaluation_script_runs_a_model_with_the_threshold_given(tmp_path):
    import json

    from test_inference_utils import write_tiny_model
    evaluate = load_script('evaluate_demo_model')
    config, checkpoint, _ = write_tiny_model(tmp_path / 'model')
    out = tmp_path / 'scores.json'
    evaluate.main(['--config', str(config), '--checkpoint', str(checkpoint),
                   '--dynamic-refine-thres', 'off', '--no-speed', '--json', str(out)])
    scores = json.loads(out.read_text())
    assert sorted(scores['flat']['patches']) == sorted(evaluate.FLAT_COLOURS)
    assert evaluate.parse_args(['--refine-threshold', '3']).dynamic_refine_thres == '3'


def test_evaluation_without_brisque_files_stops_with_one_line_before_any_work(tmp_path,
                                                                             monkeypatch):
    evaluate = load_script('evaluate_demo_model')
    monkeypatch.setenv('REALBASICVSR_PLUGIN_BRISQUE_DIR', str(tmp_path))  # holds no model files

    class ModelLoaded(Exception):
        pass

    def load_model(*args):
        raise ModelLoaded

    monkeypatch.setattr(evaluate, 'load_model', load_model)
    with pytest.raises(SystemExit, match=r'^error: --data and --real-video score BRISQUE: .*'
                                         r'allmodel.*not in the folder') as err:
        evaluate.main(['--data', str(tmp_path), '--no-flat', '--no-speed'])
    assert '\n' not in str(err.value)
    # the flat patches and the speed need no BRISQUE: no check, straight to the model
    with pytest.raises(ModelLoaded):
        evaluate.main(['--no-speed'])


def test_theta_is_the_smallest_within_a_hundredth_of_a_db_of_the_best():
    evaluate = load_script('evaluate_demo_model')
    # what the 2026-12-02 demo candidate gave on the validation clips: extra passes only cost
    assert evaluate.pick_theta({'1.5': 28.23, '5': 30.60, '10': 30.639, 'off': 30.639}) == '10'
    assert evaluate.pick_theta({'5': 30.70, '10': 30.60, 'off': 30.50}) == '5'
    assert evaluate.pick_theta({'5': 30.0, '20': 30.2, 'off': 30.5}) == 'off'
    assert evaluate.pick_theta({'7': 30.495, '3': 30.2, 'off': 30.5}) == '7'


def test_evaluation_chooses_theta_on_the_validation_clips_and_uses_it(tmp_path):
    import json

    from test_inference_utils import write_tiny_model
    evaluate = load_script('evaluate_demo_model')
    config, checkpoint, _ = write_tiny_model(tmp_path / 'model')
    rng = np.random.default_rng(0)
    for clip in ('a_00', 'b_00'):
        (tmp_path / 'val' / 'GT' / clip).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(tmp_path / 'val' / 'GT' / clip / f'{i:08d}.png'),
                        smooth_frame(rng, 32, 48, shift=i))
    common = ['--config', str(config), '--checkpoint', str(checkpoint), '--no-flat',
              '--no-speed', '--validation', str(tmp_path / 'val'), '--thetas', '0', '2', 'off']
    out = tmp_path / 'scores.json'
    evaluate.main(common + ['--json', str(out)])
    scores = json.loads(out.read_text())
    theta, used = scores['theta'], scores['theta_used']
    assert list(theta['psnr']) == ['0', '2', 'off'] and theta['clips'] == 2
    assert len(set(theta['psnr'].values())) > 1  # theta 0: three cleaning passes, 'off': one
    assert theta['chosen'] == evaluate.pick_theta(theta['psnr']) == used
    assert len(list((tmp_path / 'val' / 'LQ' / 'a_00').glob('*.png'))) == 3  # kept for reruns
    evaluate.main(common + ['--dynamic-refine-thres', '2', '--json', str(out)])
    assert json.loads(out.read_text())['theta_used'] == '2'  # a theta given on the command wins
    with pytest.raises(SystemExit, match="--thetas: 'x' is not a number"):
        evaluate.main(common + ['--thetas', '5', 'x'])


def test_inference_config_is_dumped_by_mmengine_and_builds_the_generator(tmp_path):
    export = load_script('export_demo_model')
    from mmengine.config import Config

    from conftest import TINY_NET
    generator = dict(type='realbasicvsr_plugin.RealBasicVSRNet', dynamic_refine_thres=5.0,
                     **TINY_NET)
    path = tmp_path / 'cfg.py'
    export.write_inference_config(generator, path)
    cfg = Config.fromfile(str(path))
    assert cfg.model.generator.to_dict() == generator
    assert cfg.inference_cfg.max_seq_len == 'auto'  # chosen from the memory budget
    # everything else is the inference config's; its demo pipeline is its test pipeline, once
    inference = Config.fromfile(str(REPO / 'configs' / 'realbasicvsr_x4_inference.py')).to_dict()
    dumped = cfg.to_dict()
    assert dict(dumped, model=None) == dict(inference, model=None)
    assert dict(dumped['model'], generator=None) == dict(inference['model'], generator=None)
    text = path.read_text()
    assert text.count('LoadImageFromFile') == 1 and text.endswith('demo_pipeline = test_pipeline\n')
    net = build_generator(cfg.model.generator)
    assert net.dynamic_refine_thres == 5.0 and net.mid_channels == TINY_NET['mid_channels']
    # float16 storage of a small net changes its output by well under one level (one cleaning
    # pass: with random weights the number of passes could flip between the two)
    torch.manual_seed(0)
    net = build_generator(cfg.model.generator)
    net.set_refinement(None)
    assert export.max_fp16_change(net, net.state_dict()) < 0.5


def test_the_shipped_demo_config_is_what_the_exporter_writes(tmp_path):
    export = load_script('export_demo_model')
    from mmengine.config import Config
    shipped = REPO / 'realbasicvsr_plugin' / 'weights' / 'realbasicvsr_demo_config.py'
    lines = shipped.read_text().splitlines(keepends=True)
    header = ''.join(itertools.takewhile(lambda line: line.startswith('#'), lines))
    written = tmp_path / 'cfg.py'
    export.write_inference_config(Config.fromfile(str(shipped)).model.generator.to_dict(),
                                  written, header)
    assert written.read_text() == shipped.read_text()


def test_export_writes_weights_config_and_the_checksum_the_loader_verifies(tmp_path,
                                                                            monkeypatch):
    from test_inference_utils import write_tiny_model

    from realbasicvsr_plugin.apis import load_model, model_loading
    from realbasicvsr_plugin.cache import sha256_of
    export = load_script('export_demo_model')
    config, checkpoint, ema = write_tiny_model(tmp_path / 'train')
    out = tmp_path / 'weights'
    export.main([str(checkpoint), '--config', str(config), '--out', str(out), '--thres', '1e6'])
    weights = out / 'realbasicvsr_demo.pth'
    assert (out / 'SHA256SUMS').read_text() == f'{sha256_of(weights)}  realbasicvsr_demo.pth\n'
    monkeypatch.setattr(model_loading, 'weights_dir', lambda: out)
    net, cfg = load_model()  # the default model is now the export, verified and loaded
    assert net.dynamic_refine_thres == 1e6  # (one cleaning pass: see the test above)
    for key, value in ema.state_dict().items():  # the EMA weights, stored in float16
        torch.testing.assert_close(net.state_dict()[key], value.half().float())
    torch.save({'state_dict': {}}, weights)  # replaced after the export
    with pytest.raises(model_loading.InferenceError, match='damaged or replaced'):
        load_model()


def test_warm_start_writes_generator_and_ema_from_the_shipped_model(tmp_path):
    export = load_script('export_demo_model')
    out = tmp_path / 'warm.pth'
    export.main(['--warm-start', str(out)])
    state = torch.load(out, map_location='cpu', weights_only=True)['state_dict']
    shipped = torch.load(REPO / 'realbasicvsr_plugin' / 'weights' / 'realbasicvsr_demo.pth',
                         map_location='cpu', weights_only=True)['state_dict']
    assert len(state) == 2 * len(shipped)
    for key, value in shipped.items():
        assert state[f'generator.{key}'].dtype == torch.float32
        torch.testing.assert_close(state[f'generator_ema.{key}'], value.float())


def test_clips_permute_colours_of_odd_clips_only(tmp_path, monkeypatch):
    clips = load_script('make_demo_clips')
    img = np.zeros((64, 64, 3), np.uint8)
    img[..., 2] = 200  # red (BGR)
    monkeypatch.setattr(clips, 'load_image', lambda name, sources: img)
    assert clips.write_clips(['x:red'], tmp_path, 2, 2, (16, 16), seed=0) == 2
    first = cv2.imread(str(tmp_path / 'red_00' / '00000000.png'))
    second = cv2.imread(str(tmp_path / 'red_01' / '00000000.png'))
    assert first[..., 2].min() == 200 and first[..., :2].max() == 0
    assert second[..., 2].max() == 0 and second.max() == 200  # red moved to another channel


def test_unknown_image_family_is_refused():
    clips = load_script('make_demo_clips')
    with pytest.raises(ValueError, match='unknown image family'):
        clips.load_image('flickr:cat')
