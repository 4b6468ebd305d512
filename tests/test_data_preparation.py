"""REDS sub-image cropping (resumable, verified) and the data set checker."""
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from conftest import REPO
from tiny_training import make_frames

SCRIPTS = REPO / 'scripts'


def run(script, *args):
    return subprocess.run([sys.executable, str(SCRIPTS / script), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_crop_positions_cover_the_frame_flush_with_the_edges():
    sys.path.insert(0, str(SCRIPTS))
    from crop_reds_subimages import crop_positions
    assert crop_positions(720, 480, 240, 0) == [0, 240]
    assert crop_positions(1280, 480, 240, 0) == [0, 240, 480, 720, 800]
    assert crop_positions(100, 48, 40, 0) == [0, 40, 52]
    with pytest.raises(ValueError, match='smaller than the crop size'):
        crop_positions(40, 48, 40, 0)


def test_crop_writes_every_sub_image_and_resumes(tmp_path):
    src = make_frames(tmp_path / 'src', clips=2, frames=2, size=(100, 140))
    dst = tmp_path / 'dst'
    out = run('crop_reds_subimages.py', src, dst, '--crop-size', 48, '--step', 40, '--workers', 1)
    assert out.returncode == 0, out.stderr
    # 3 rows x 4 columns of crops for each of 2 clips
    assert sorted(p.name for p in dst.iterdir()) == [f'{c:03d}_s{k:03d}' for c in range(2)
                                                     for k in range(1, 13)]
    frame = cv2.imread(str(src / '001' / '00000001.png'))
    # sub-image 8 = row 1 (y=40), column 3 (x=92, flush with the right edge)
    assert np.array_equal(cv2.imread(str(dst / '001_s008' / '00000001.png')),
                          frame[40:88, 92:140])
    assert '48 sub-images written, 0 already there' in out.stdout
    # a damaged output is rewritten on the next run, the rest is kept
    damaged = dst / '000_s005' / '00000000.png'
    damaged.write_bytes(damaged.read_bytes()[:50])
    again = run('crop_reds_subimages.py', src, dst, '--crop-size', 48, '--step', 40,
                '--workers', 1)
    assert again.returncode == 0 and '1 sub-images written, 47 already there' in again.stdout
    assert not list(dst.rglob('*.tmp.png'))


def test_crop_reports_unreadable_frames_and_small_frames(tmp_path):
    src = make_frames(tmp_path / 'src', clips=1, frames=1, size=(100, 140))
    (src / '000' / '00000001.png').write_bytes(b'not an image')
    out = run('crop_reds_subimages.py', src, tmp_path / 'dst', '--crop-size', 48, '--step', 40,
              '--workers', 1)
    assert out.returncode == 1 and '00000001.png: unreadable image' in out.stderr
    out = run('crop_reds_subimages.py', src, tmp_path / 'dst2', '--crop-size', 200)
    assert out.returncode == 1 and 'smaller than the crop size 200' in out.stderr
    out = run('crop_reds_subimages.py', tmp_path / 'nowhere', tmp_path / 'dst3')
    assert out.returncode != 0 and 'source folder not found' in out.stderr


@pytest.fixture
def config(tmp_path):
    train = make_frames(tmp_path / 'data' / 'REDS' / 'train_sharp_sub', clips=2, frames=16)
    make_frames(tmp_path / 'data' / 'UDM10', clips=1, frames=3, size=(64, 64), lq_scale=4,
                tmpl='{:04d}.png')
    (tmp_path / 'data' / 'UDM10' / 'BIx4').symlink_to(tmp_path / 'data' / 'UDM10' / 'LQ')
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = {str(REPO / 'configs' / 'realbasicvsr_stage1.py')!r}
        train_dataloader = dict(dataset=dict(data_root={str(tmp_path / 'data' / 'REDS')!r}))
        val_dataloader = dict(dataset=dict(data_root={str(tmp_path / 'data' / 'UDM10')!r},
                                           data_prefix=dict(img='BIx4', gt='GT')))
    '''))
    return cfg, train, tmp_path / 'data' / 'UDM10'


def test_checker_passes_a_complete_data_set(config):
    cfg, _, _ = config
    out = run('check_dataset.py', cfg)
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'train: ' in out.stdout and '2 clips, 32 frames' in out.stdout
    assert 'everything the config reads is there' in out.stdout


def test_checker_names_each_problem(config):
    cfg, train, udm = config
    (train / '001' / '00000007.png').unlink()                      # a gap in the numbering
    cv2.imwrite(str(train / '000' / '00000003.png'), np.zeros((32, 48, 3), np.uint8))  # size
    (udm / 'GT' / '000' / '0002.png').write_bytes(b'broken')  # unreadable
    out = run('check_dataset.py', cfg)
    assert out.returncode == 1
    text = out.stdout
    assert "missing 00000015.png" in text or 'missing 00000007.png' in text
    assert 'mixes frame sizes: most are 64x64, but 00000003.png 32x48' in text
    assert 'unreadable image' in text and '0002.png' in text


def test_checker_reports_missing_folders_and_too_short_clips(tmp_path):
    cfg = tmp_path / 'cfg.py'
    make_frames(tmp_path / 'REDS' / 'train_sharp_sub', clips=1, frames=4)
    cfg.write_text(f"_base_ = {str(REPO / 'configs' / 'realbasicvsr_stage1.py')!r}\n"
                   f"train_dataloader = dict(dataset=dict(data_root={str(tmp_path / 'REDS')!r}))\n"
                   f"val_dataloader = dict(dataset=dict(data_root={str(tmp_path / 'UDM10')!r}))\n")
    out = run('check_dataset.py', cfg)
    assert out.returncode == 1
    assert 'has 4 frames, the config loads 15' in out.stdout
    assert f'folder not found: {tmp_path / "UDM10" / "BIx4"}' in out.stdout
