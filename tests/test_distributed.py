"""Training and testing under MMEngine's distributed launchers: 2 CPU processes, gloo.

Every run is started the way a user types it (``torchrun ... tools/train.py CONFIG --launcher
pytorch``, ``mim train mmagic CONFIG --launcher pytorch --gpus 2``, ``torchrun ... tools/test.py``)
with the shipped configs shrunk to toy sizes; the configs keep ``dist_cfg.backend='nccl'``, which
the plugin replaces by gloo on a machine without CUDA. Each run has a timeout and runs in a
process group of its own that is killed on failure, so that a hang fails with its log.
"""
import json
import math
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import mmagic
import pytest
import torch

from realbasicvsr_plugin.models import RealBasicVSRNet, load_checkpoint

from tiny_training import (CONFIGS, REPO, STAGE2_OFFLINE, make_frames, tiny_config,
                           tiny_editor_checkpoint)
from training_probes import read_samples

TOOLS = Path(mmagic.__file__).resolve().parent / '.mim' / 'tools'
BIN = Path(sys.executable).parent
TIMEOUT = 150


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch(cmd, cwd, timeout=TIMEOUT, env=None):
    """Run ``cmd`` in a new process group; kill the group on timeout. Returns (status, log)."""
    base = {k: v for k, v in os.environ.items()
            if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')}
    base.update(PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / 'tests')]),
                OMP_NUM_THREADS='1', PET_MASTER_PORT=str(free_port()))
    base.update(env or {})
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=base, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log, _ = proc.communicate()
        pytest.fail(f'{" ".join(map(str, cmd))} did not finish in {timeout} s:\n{log[-6000:]}')
    finally:
        try:  # whatever the launcher left behind
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode, log


def torchrun(script, *args, cwd):
    return launch([BIN / 'torchrun', '--nproc_per_node', '2', TOOLS / script, *args], cwd=cwd)


def scalars(work_dir: Path):
    """The training scalars MMEngine's LocalVisBackend logged (one dict per logged iteration)."""
    files = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def rank_states(probe: Path, when: str):
    return [torch.load(probe / f'rank{r}_{when}.pth', weights_only=True) for r in (0, 1)]


def assert_ranks_identical(states):
    for key in ('generator', 'generator_ema', 'discriminator'):
        if key not in states[0]:
            continue
        a, b = states[0][key], states[1][key]
        assert a.keys() == b.keys()
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, f'{key} differs between the ranks: {different[:5]}'


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('ddp_data')
    return (make_frames(root / 'train', clips=8, frames=2),
            make_frames(root / 'val', clips=1, frames=2, lq_scale=4))


def write_config(tmp_path, data, name, probe, extra='', **kwargs):
    text = tiny_config(CONFIGS / f'realbasicvsr_{name}.py', *data, tmp_path / 'work',
                       probe_dir=probe, **kwargs)
    path = tmp_path / f'tiny_{name}.py'
    path.write_text(text + extra)
    return path


def test_stage1_under_torchrun_two_processes_then_resume(tmp_path, data):
    probe = tmp_path / 'probe'
    probe.mkdir()
    # 8 clips, 2 per rank and iteration, 2 iterations: one pass over the shuffled data set.
    # One loader worker per rank: worker and rank seeds both count.
    cfg = write_config(tmp_path, data, 'stage1', probe, max_iters=2, val_interval=2, extra='''
train_dataloader.update(batch_size=2, num_workers=1)
''')
    # (MMagic's train.py accepts --auto-scale-lr but ignores it: the config switch works)
    status, log = torchrun('train.py', cfg, '--launcher', 'pytorch',
                           '--cfg-options', 'auto_scale_lr.enable=True', cwd=tmp_path)
    assert status == 0, log[-6000:]
    assert 'gloo instead of nccl' in log
    # the ranks loaded disjoint samples, together the whole data set, each with its own draws
    # (the loaders read ahead: the first 4 samples of each rank are the ones trained on)
    rows = read_samples(probe)
    assert len({pid for *_, pid in rows}) == 2  # the two loader workers
    keys = [{key for _, key, _, _ in [row for row in rows if row[0] == r][:4]} for r in (0, 1)]
    assert not keys[0] & keys[1] and len(keys[0] | keys[1]) == 8, rows
    assert len({draw for _, _, draw, _ in rows}) == len(rows), 'a degradation draw repeated'
    # identical weights on every rank, and training changed them
    before, after = rank_states(probe, 'before'), rank_states(probe, 'after')
    assert after[0]['wrapper'] == 'MMSeparateDistributedDataParallel'
    assert_ranks_identical(before)
    assert_ranks_identical(after)
    gen0, gen1 = before[0]['generator'], after[0]['generator']
    assert any(not torch.equal(gen0[k], gen1[k]) for k in gen0)
    ema0, ema1 = before[0]['generator_ema'], after[0]['generator_ema']
    assert any(not torch.equal(ema0[k], ema1[k]) for k in ema0)
    # finite losses; auto_scale_lr: the total batch 2 x 2 against the config's base of 16
    logged = scalars(tmp_path / 'work')
    losses = [v for row in logged for k, v in row.items() if k.startswith('loss')]
    assert losses and all(math.isfinite(v) for v in losses)
    lrs = [row['generator.lr'] for row in logged if 'generator.lr' in row]
    assert lrs and all(lr == pytest.approx(1e-4 * 4 / 16) for lr in lrs)
    # validation ran on both ranks, statistics gathered (the 1 val clip of 2 frames, once)
    assert 'dynamic refinement (val): 2 frames' in log
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()

    # resume under 2 processes from the last checkpoint, to iteration 3
    status, log = torchrun('train.py', cfg, '--launcher', 'pytorch', '--resume',
                           '--cfg-options', 'train_cfg.max_iters=3', cwd=tmp_path)
    assert status == 0, log[-6000:]
    assert 'resumed' in log.lower()
    resumed = rank_states(probe, 'before')
    assert resumed[0]['iter'] == 2  # started where the first run stopped
    assert all(torch.equal(resumed[0]['generator'][k], after[0]['generator'][k])
               for k in after[0]['generator'])
    final = rank_states(probe, 'after')
    assert final[0]['iter'] == 3
    assert_ranks_identical(final)
    ckpt = torch.load(tmp_path / 'work' / 'iter_3.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 3
    # named as by one process (MMEngine alone writes generator.module.*, which no run loads)
    assert not [k for k in ckpt['state_dict'] if '.module.' in k]
    net = RealBasicVSRNet(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1)
    load_checkpoint(net, tmp_path / 'work' / 'iter_3.pth')  # strict: every weight found
    ema = {k[len('generator_ema.'):]: v for k, v in ckpt['state_dict'].items()
           if k.startswith('generator_ema.')}
    assert all(torch.equal(ema[k], final[0]['generator_ema'][k]) for k in ema)


def test_stage2_under_mim_two_processes(tmp_path, data):
    probe = tmp_path / 'probe'
    probe.mkdir()
    cfg = write_config(tmp_path, data, 'stage2', probe, max_iters=2, val_interval=100,
                       model_extra=STAGE2_OFFLINE, extra='''
train_dataloader.update(batch_size=2, num_workers=0)
''')
    status, log = launch([BIN / 'mim', 'train', 'mmagic', cfg, '--launcher', 'pytorch',
                          '--gpus', '2', '--port', free_port()], cwd=tmp_path,
                         env={'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert status == 0, log[-6000:]
    rows = read_samples(probe)
    keys = [{key for rank, key, _, _ in rows if rank == r} for r in (0, 1)]
    assert len(rows) == 8 and not keys[0] & keys[1], rows
    # loading in the main process of each rank: the rank's own seed keeps the draws apart
    assert len({draw for _, _, draw, _ in rows}) == 8, 'a degradation draw repeated'
    assert len({pid for *_, pid in rows}) == 2
    before, after = rank_states(probe, 'before'), rank_states(probe, 'after')
    assert_ranks_identical(before)
    assert_ranks_identical(after)
    for key in ('generator', 'discriminator'):
        a, b = before[0][key], after[0][key]
        assert any(not torch.equal(a[k], b[k]) for k in a), f'{key} was not trained'
    # the cleaning module is frozen in stage 2
    cleaning = [k for k in before[0]['generator'] if k.startswith('image_cleaning.')]
    assert cleaning and all(torch.equal(before[0]['generator'][k], after[0]['generator'][k])
                            for k in cleaning)
    logged = scalars(tmp_path / 'work')
    names = {k for row in logged for k in row}
    for name in ('loss_pix', 'loss_perceptual', 'loss_gan', 'loss_d_real', 'loss_d_fake'):
        assert name in names, names
    assert all(math.isfinite(v) for row in logged for k, v in row.items()
               if k.startswith('loss'))


def test_launcher_pytorch_without_its_environment_fails_at_once(tmp_path, data):
    cfg = write_config(tmp_path, data, 'stage1', None)
    status, log = launch([sys.executable, TOOLS / 'train.py', cfg, '--launcher', 'pytorch'],
                         cwd=tmp_path, timeout=90)
    assert status != 0
    assert "KeyError: 'RANK'" in log, log[-3000:]  # MMEngine's own message


TINY_TEST = dict(mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=1)


@pytest.fixture
def videolq_three(tmp_path):
    """Three videos of 2, 3 and 4 frames (48x72) cut from the calibration images."""
    import cv2

    from conftest import calibration_image
    root = tmp_path / 'VideoLQ'
    for v, (name, count) in enumerate((('I04', 2), ('I03', 3), ('I04', 4))):
        img = calibration_image(name)
        folder = root / f'{v:03d}'
        folder.mkdir(parents=True)
        for i in range(count):
            y, x = 6 * i + 20 * v, 8 * i + 10 * v
            cv2.imwrite(str(folder / f'{i:08d}.png'), img[y:y + 48, x:x + 72])
    return root


def test_videolq_test_under_two_processes_equals_one_process(tmp_path, videolq_three,
                                                             data_dir):
    ckpt = tiny_editor_checkpoint(tmp_path / 'tiny.pth', **TINY_TEST)
    config = CONFIGS / 'realbasicvsr_x4_videolq.py'
    options = ['--cfg-options', f'test_dataloader.dataset.data_root={videolq_three}',
               'test_dataloader.num_workers=0',
               *[f'model.generator.{k}={v}' for k, v in TINY_TEST.items()]]
    env = {'REALBASICVSR_PLUGIN_BRISQUE_DIR': str(data_dir / 'brisque')}
    status, one = launch([sys.executable, TOOLS / 'test.py', config, ckpt, '--work-dir',
                          tmp_path / 'w1', '--out', tmp_path / 'one.json', *options],
                         cwd=tmp_path, env=env)
    assert status == 0, one[-6000:]
    status, two = launch([BIN / 'torchrun', '--nproc_per_node', '2', TOOLS / 'test.py', config,
                          ckpt, '--launcher', 'pytorch', '--work-dir', tmp_path / 'w2',
                          '--out', tmp_path / 'two.json', *options], cwd=tmp_path, env=env)
    assert status == 0, two[-6000:]
    single = json.loads((tmp_path / 'one.json').read_text())
    double = json.loads((tmp_path / 'two.json').read_text())
    expected = {f'{m}{v}' for m in ('NIQE', 'BRISQUE') for v in ('', '/000', '/001', '/002')}
    assert expected <= set(single) and set(double) == set(single)
    for key, value in single.items():  # 3 videos on 2 ranks: video 000 is repeated on rank 1
        assert double[key] == pytest.approx(value, rel=1e-6, abs=1e-6), key
    # the pass statistics of the 9 frames, each once, as in one process
    lines = [[line.split('dynamic refinement (test): ')[1] for line in log.splitlines()
              if 'dynamic refinement (test): ' in line] for log in (one, two)]
    assert len(lines[0]) == 1 and lines[1] == lines[0], lines
    assert lines[0][0].startswith('9 frames')


INIT_SCRIPT = '''
import os, sys
import torch
if sys.argv[2] == 'plugin':
    import realbasicvsr_plugin  # noqa: F401  (what the configs' custom_imports do)
from mmengine.dist import init_dist
import torch.distributed as dist
init_dist(sys.argv[1], backend='nccl')  # the configs' backend
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
print('rank', dist.get_rank(), 'of', dist.get_world_size(), 'sum', t.item(),
      'backend', dist.get_backend(), 'local', os.environ['LOCAL_RANK'])
dist.destroy_process_group()
'''


def start_ranks(launcher, world, with_plugin, tmp_path):
    script = tmp_path / 'init.py'
    script.write_text(INIT_SCRIPT)
    port = str(free_port())
    procs = []
    for rank in range(world):
        if launcher == 'slurm':  # what srun sets for each task
            env = dict(SLURM_PROCID=str(rank), SLURM_NTASKS=str(world),
                       SLURM_NODELIST='localhost', SLURM_LOCALID=str(rank),
                       MASTER_ADDR='127.0.0.1', MASTER_PORT=port)
        else:  # what torchrun sets
            env = dict(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                       MASTER_ADDR='127.0.0.1', MASTER_PORT=port)
        procs.append(subprocess.Popen(
            [sys.executable, str(script), launcher, 'plugin' if with_plugin else 'bare'],
            env={**os.environ, 'PYTHONPATH': str(REPO), **env}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True))
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=TIMEOUT)[0])
    except subprocess.TimeoutExpired:
        pytest.fail(f'{launcher} initialisation hung')
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return [p.returncode for p in procs], logs


@pytest.mark.parametrize('launcher', ['pytorch', 'slurm'])
def test_mmengines_launchers_start_on_cpu_processes_with_the_plugin(tmp_path, launcher):
    status, logs = start_ranks(launcher, 2, True, tmp_path)
    assert status == [0, 0], logs
    for rank, log in enumerate(logs):
        assert f'rank {rank} of 2 sum 3.0 backend gloo local {rank}' in log, log


def test_without_the_plugin_mmengine_stops_at_cuda(tmp_path):
    # the host's defect the plugin works around (one rank is enough to show it)
    status, logs = start_ranks('pytorch', 1, False, tmp_path)
    assert status != [0], logs
    assert 'cuda' in logs[0].lower() or 'nvidia' in logs[0].lower(), logs[0][-2000:]
