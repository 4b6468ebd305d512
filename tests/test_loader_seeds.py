"""Every data-loader worker (and every rank, see test_distributed.py) draws its own degradations."""
import shutil

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tiny_training import CONFIGS, make_frames
from training_probes import read_samples


def loader_cfg(root, probe, num_workers):
    return dict(
        batch_size=1,
        num_workers=num_workers,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='BasicFramesDataset',
            metainfo=dict(dataset_type='clips', task_name='vsr'),
            data_root=str(root),
            data_prefix=dict(img='', gt=''),
            depth=1,
            num_input_frames=2,
            pipeline=[
                dict(type='GenerateSegmentIndices', interval_list=[1]),
                dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                dict(type='RecordSample', log_dir=str(probe)),
                dict(type='CopyValues', src_keys=['gt'], dst_keys=['img']),
                dict(type='RealBasicVSRDegradations', keys=['img'], target_size=(16, 16)),
                dict(type='Clip', keys=['img']),
                dict(type='PackInputs'),
            ]))


@pytest.fixture
def same_clip_four_times(tmp_path):
    root = make_frames(tmp_path / 'one', clips=1, frames=2, size=(64, 64))
    for i in range(1, 4):
        shutil.copytree(root / '000', root / f'{i:03d}')
    return root


def run(root, probe, num_workers, seed):
    probe.mkdir()
    loader = Runner.build_dataloader(loader_cfg(root, probe, num_workers), seed=seed)
    lqs = [batch['inputs'][0].numpy() for batch in loader]
    return lqs, read_samples(probe)


def test_two_workers_degrade_the_same_clip_differently_and_reproducibly(tmp_path,
                                                                        same_clip_four_times):
    import training_probes  # noqa: F401  (registers the probe)
    runtime = Config.fromfile(str(CONFIGS / '_base_' / 'default_runtime.py'))
    assert runtime.randomness.diff_rank_seed  # the per-rank half of the story
    lqs, rows = run(same_clip_four_times, tmp_path / 'a', num_workers=2, seed=7)
    assert len(lqs) == 4 and len({pid for *_, pid in rows}) == 2  # both workers loaded
    assert len({draw for _, _, draw, _ in rows}) == 4
    # four copies of one clip, four different degradations
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.array_equal(lqs[i], lqs[j]), (i, j)
    # the same seed gives the same degradations again
    again, _ = run(same_clip_four_times, tmp_path / 'b', num_workers=2, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(lqs, again))
