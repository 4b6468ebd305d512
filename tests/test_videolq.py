"""VideoLQ benchmark: the config under MMEngine's runner (as `mim test`), the package's
evaluate_videolq with its protocols, and the thin script over it."""
import csv
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import calibration_image
from realbasicvsr_plugin.evaluation import (PAPER_PROTOCOL, RELEASE_PROTOCOL, bicubic_upscale,
                                            brisque, detail_box, load_brisque_model, niqe,
                                            resolve_protocol, select_frames, side_by_side)

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'configs' / 'realbasicvsr_x4_videolq.py'
TINY = dict(mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=1)
TINY_OPTIONS = [f'model.generator.{k}={v}' for k, v in TINY.items()]


def load_script():
    spec = importlib.util.spec_from_file_location('evaluate_videolq',
                                                  REPO / 'scripts' / 'evaluate_videolq.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _brisque_model_from_test_data(monkeypatch, data_dir):
    monkeypatch.setenv('REALBASICVSR_PLUGIN_BRISQUE_DIR', str(data_dir / 'brisque'))


@pytest.fixture
def videolq(tmp_path):
    """Two tiny videos (3 and 2 frames of 48x72) cut from the calibration images."""
    root = tmp_path / 'VideoLQ'
    for v, (name, count) in enumerate((('I04', 3), ('I03', 2))):
        img = calibration_image(name)
        folder = root / f'{v:03d}'
        folder.mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(folder / f'{i:08d}.png'), img[i * 8:i * 8 + 48, i * 8:i * 8 + 72])
    return root


@pytest.fixture
def checkpoint(tmp_path):
    """An editor checkpoint (generator + generator_ema) of a tiny RealBasicVSR."""
    from realbasicvsr_plugin.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='RealBasicVSR', generator=dict(type='RealBasicVSRNet', **TINY),
        pixel_loss=dict(type='L1Loss'), is_use_ema=True,
        data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3)))
    path = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def run_config(videolq, checkpoint, tmp_path):
    """What `mim test mmagic CONFIG --checkpoint CKPT --cfg-options ...` does."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(CONFIG))
    cfg.merge_from_dict({o.split('=')[0]: int(o.split('=')[1]) for o in TINY_OPTIONS})
    cfg.test_dataloader.dataset.data_root = str(videolq)
    cfg.test_dataloader.num_workers = 0
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = str(checkpoint)
    runner = Runner.from_cfg(cfg)
    captured = {}

    class Capture(Hook):  # as `mim test --out` does: MMagic's MultiTestLoop returns nothing
        def after_test_epoch(self, runner, metrics=None):
            captured.update(metrics)

    runner.register_hook(Capture(), 'LOWEST')
    runner.test()
    return captured


def run_script(argv, capsys):
    code = load_script().main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_config_and_script_score_every_video_and_agree(videolq, checkpoint, tmp_path, capsys):
    metrics = run_config(videolq, checkpoint, tmp_path)
    for name in ('NIQE', 'BRISQUE'):
        per_video = [metrics[f'{name}/000'], metrics[f'{name}/001']]
        assert all(np.isfinite(per_video))
        assert metrics[name] == pytest.approx(np.mean(per_video))
    code, _, err = run_script([videolq, '--checkpoint', checkpoint, '--out-dir',
                               tmp_path / 'out', '--cfg-options', *TINY_OPTIONS], capsys)
    assert code == 0, err
    results = json.loads((tmp_path / 'out' / 'results.json').read_text())
    # The script runs the network channels_last: float noise flips an odd output pixel across
    # a rounding boundary (one pixel in 165888 here), which moves the scores by thousandths.
    for video in ('000', '001'):
        for name in ('NIQE', 'BRISQUE'):
            assert results['videos'][video]['model'][name] == pytest.approx(
                metrics[f'{name}/{video}'], abs=0.05)


def test_script_prints_table_and_writes_json_csv_and_pictures(videolq, tmp_path, capsys):
    out_dir = tmp_path / 'out'
    code, out, err = run_script([videolq, '--random-init', '--out-dir', out_dir,
                                 '--cfg-options', *TINY_OPTIONS], capsys)
    assert code == 0, err
    results = json.loads((out_dir / 'results.json').read_text())
    assert list(results['videos']) == ['000', '001']
    assert results['videos']['000']['scored_frames'] == [0, 1, 2]
    assert results['protocol'] == RELEASE_PROTOCOL.as_dict()
    # the bicubic row is MATLAB bicubic x4 of the input frames, scored like the output
    frames = [cv2.imread(str(p)) for p in sorted((videolq / '001').iterdir())]
    model = load_brisque_model()
    bic = [bicubic_upscale(f, 4) for f in frames]
    assert bic[0].shape == (192, 288, 3)
    assert results['videos']['001']['bicubic']['NIQE'] == pytest.approx(
        np.mean([niqe(b, 0) for b in bic]))
    assert results['videos']['001']['bicubic']['BRISQUE'] == pytest.approx(
        np.mean([brisque(b, 0, model=model) for b in bic]))
    # means over videos, each video weighing the same
    for method in ('bicubic', 'model'):
        assert results['mean'][method]['NIQE'] == pytest.approx(
            np.mean([v[method]['NIQE'] for v in results['videos'].values()]))
    # the printed tables: one row per video, the mean, and Table 2's method rows
    assert 'Bicubic NIQE' in out and 'RealBasicVSR BRISQUE' in out
    assert 'mean (2 videos)' in out and 'protocol release: frames=all; plane=gray' in out
    assert any(line.startswith('Bicubic ') for line in out.splitlines())
    rows = list(csv.DictReader((out_dir / 'results.csv').open()))
    assert [(r['method'], r['video']) for r in rows] == [
        ('bicubic', '000'), ('bicubic', '001'), ('bicubic', 'mean'),
        ('model', '000'), ('model', '001'), ('model', 'mean')]
    # every row says how it was made, so tables of different protocols cannot be mixed
    assert {(r['protocol'], r['frames'], r['plane'], r['crop_border']) for r in rows} == {
        ('release', 'all', 'gray', '0')}
    assert float(rows[2]['NIQE']) == pytest.approx(results['mean']['bicubic']['NIQE'], abs=1e-5)
    # one side-by-side picture per video: bicubic | output on top, zoomed crops below
    for video in ('000', '001'):
        picture = cv2.imread(str(out_dir / 'compare' / f'{video}.png'))
        assert picture.shape[1] == 2 * 288 and picture.shape[0] > 192


def test_the_picture_shows_bicubic_left_and_output_right():
    rng = np.random.default_rng(0)
    bic = np.full((120, 160, 3), 50, np.uint8)
    bic[60:100, 90:130] = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)  # the detail
    out = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    picture = side_by_side(bic, out, 'Model')
    assert picture.shape[1] == 320
    # the crop box goes where the content has detail
    box_y, box_x = detail_box(bic, 30)
    assert 55 <= box_y <= 75 and 85 <= box_x <= 105
    # away from the label and the crop box, the halves are the two frames
    rows = slice(40, 55)
    np.testing.assert_array_equal(picture[rows, :160], bic[rows])
    np.testing.assert_array_equal(picture[rows, 160:], out[rows])
    # below the frames, each crop magnified 5x (nearest neighbour)
    zoom_left, zoom_right = picture[120:270, :150], picture[120:270, 160:310]
    np.testing.assert_array_equal(zoom_left[::5, ::5], bic[box_y:box_y + 30, box_x:box_x + 30])
    np.testing.assert_array_equal(zoom_right[::5, ::5], out[box_y:box_y + 30, box_x:box_x + 30])


def test_gray_and_rgba_frames_are_converted(videolq, tmp_path, capsys):
    for path in (videolq / '000').iterdir():
        cv2.imwrite(str(path), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY))
    for path in (videolq / '001').iterdir():
        cv2.imwrite(str(path), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2BGRA))
    code, out, err = run_script([videolq, '--random-init', '--out-dir', tmp_path / 'o',
                                 '--frames', 'first', '--cfg-options', *TINY_OPTIONS], capsys)
    assert code == 0, err
    assert 'gray frames replicated' in out and 'alpha channel dropped' in out


@pytest.mark.parametrize('damage,match', [
    ('empty_root', 'no video folders'),
    ('loose_images', 'put them in a sub-folder'),
    ('empty_video', "has no frames"),
    ('mixed_sizes', 'mixes frame sizes'),
    ('broken_frame', 'cannot read frame'),
    ('no_checkpoint', 'give --checkpoint'),
    ('bad_frames', '--frames must be'),
    ('bad_crop', '--crop-border must be'),
    ('bad_seq_len', '--max-seq-len must be'),
])
def test_bad_input_gets_a_clear_message_and_no_results(videolq, tmp_path, capsys, damage, match):
    argv = [videolq, '--random-init', '--out-dir', tmp_path / 'out', '--cfg-options',
            *TINY_OPTIONS]
    if damage == 'empty_root':
        argv[0] = tmp_path / 'empty'
        argv[0].mkdir()
    elif damage == 'loose_images':
        argv[0] = videolq / '000'
    elif damage == 'empty_video':
        (videolq / '002').mkdir()
    elif damage == 'mixed_sizes':
        cv2.imwrite(str(videolq / '001' / '00000001.png'), np.zeros((40, 40, 3), np.uint8))
    elif damage == 'broken_frame':
        (videolq / '001' / '00000001.png').write_bytes(b'not a png')
    elif damage == 'no_checkpoint':
        argv.remove('--random-init')
    elif damage == 'bad_frames':
        argv += ['--frames', 'often']
    elif damage == 'bad_crop':
        argv += ['--crop-border', '-1']
    elif damage == 'bad_seq_len':
        argv += ['--max-seq-len', '0']
    code, _, err = run_script(argv, capsys)
    assert code == 2 and match in err
    assert not (tmp_path / 'out' / 'results.json').exists()


def test_a_too_small_output_is_named(videolq, tmp_path, capsys):
    # 16x16 frames give 64x64 outputs: fewer than NIQE's two 96x96 blocks
    for path in (videolq / '000').iterdir():
        cv2.imwrite(str(path), cv2.imread(str(path))[:16, :16])
    code, _, err = run_script([videolq, '--random-init', '--out-dir', tmp_path / 'o',
                               '--metrics', 'NIQE', '--cfg-options', *TINY_OPTIONS], capsys)
    assert code == 2 and "video '000', frame 0 (00000000.png)" in err
    assert 'too small for NIQE' in err


@pytest.fixture
def nine_frames(tmp_path):
    """One video of 9 small frames (28x52: x4 outputs hold two 96x96 blocks after a 4-pixel
    shave)."""
    img = calibration_image('I04')
    folder = tmp_path / 'VideoLQ9' / '000'
    folder.mkdir(parents=True)
    for i in range(9):
        y, x = (i * 31) % 300, (i * 43) % 400
        cv2.imwrite(str(folder / f'{i:08d}.png'), img[y:y + 28, x:x + 52])
    return folder.parent


def test_paper_protocol_scores_first_middle_last_on_y_shaved_by_4(nine_frames, tmp_path, capsys):
    # on VideoLQ's 100-frame clips these are 00000000, 00000050, 00000099 (issue #22)
    assert select_frames(100, PAPER_PROTOCOL.frames) == [0, 50, 99]
    out_dir = tmp_path / 'paper'
    code, out, err = run_script([nine_frames, '--random-init', '--protocol', 'paper',
                                 '--out-dir', out_dir, '--refine-thres', 'off',
                                 '--cfg-options', *TINY_OPTIONS], capsys)
    assert code == 0, err
    results = json.loads((out_dir / 'results.json').read_text())
    assert results['protocol'] == PAPER_PROTOCOL.as_dict()
    assert results['protocol']['frames'] == 'first_middle_last'
    assert results['protocol']['convert_to'] == 'y' and results['protocol']['crop_border'] == 4
    video = results['videos']['000']
    assert video['num_frames'] == 9 and video['scored_frames'] == [0, 4, 8]
    # the bicubic row: MATLAB bicubic x4 of the first, middle and last frame, Y, shave 4
    paths = [nine_frames / '000' / f'{i:08d}.png' for i in (0, 4, 8)]
    bic = [bicubic_upscale(cv2.imread(str(p)), 4) for p in paths]
    model = load_brisque_model()
    assert video['bicubic']['NIQE'] == pytest.approx(
        np.mean([niqe(b, 4, convert_to='y') for b in bic]))
    assert video['bicubic']['BRISQUE'] == pytest.approx(
        np.mean([brisque(b, 4, convert_to='y', model=model) for b in bic]))
    assert video['bicubic']['NIQE'] != pytest.approx(np.mean([niqe(b, 0) for b in bic]))
    rows = list(csv.DictReader((out_dir / 'results.csv').open()))
    assert {(r['protocol'], r['frames'], r['plane'], r['crop_border']) for r in rows} == {
        ('paper', 'first_middle_last', 'y', '4')}
    assert 'protocol paper: frames=first_middle_last; plane=y; crop_border=4' in out


def test_changing_a_protocol_setting_makes_it_custom():
    assert resolve_protocol('paper') is PAPER_PROTOCOL
    assert resolve_protocol('paper', crop_border=4, convert_to='y') is PAPER_PROTOCOL
    custom = resolve_protocol('paper', crop_border=0)
    assert custom.name == 'custom' and custom.based_on == 'paper'
    assert custom.crop_border == 0 and custom.frames == PAPER_PROTOCOL.frames
    assert custom.label().startswith('custom (from paper): ')
    assert resolve_protocol('release', frames=[0, 50, 99]).as_dict()['frames'] == [0, 50, 99]
