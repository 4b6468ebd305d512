"""Probes that tests add to tiny training configs (through ``custom_imports``): they record, per
process, which samples were loaded with which random draw, and each rank's weights."""
import os
import os.path as osp

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from realbasicvsr_plugin.registry import HOOKS, TRANSFORMS


def _rank() -> str:
    return os.environ.get('RANK', '0')


@TRANSFORMS.register_module()
class RecordSample(BaseTransform):
    """Append ``<rank> <sample key> <a draw from np.random>`` to a file of this process.

    The degradations draw from ``np.random``; equal draws in two processes mean equal
    degradations.
    """

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir

    def transform(self, results):
        draw = float(np.random.random())
        with open(osp.join(self.log_dir, f'samples_{os.getpid()}.txt'), 'a') as f:
            f.write(f"{_rank()} {results['key']} {draw!r}\n")
        return results


def read_samples(log_dir):
    """The records of :class:`RecordSample`: list of (rank, key, draw, pid)."""
    rows = []
    for name in sorted(os.listdir(log_dir)):
        if name.startswith('samples_'):
            pid = int(name[len('samples_'):-len('.txt')])
            for line in open(osp.join(log_dir, name)):
                rank, key, draw = line.split()
                rows.append((int(rank), key, float(draw), pid))
    return rows


@HOOKS.register_module()
class DumpWeightsHook(Hook):
    """Save each rank's weights before and after training as ``<out_dir>/rank<r>_<when>.pth``."""

    priority = 'LOWEST'  # after the EMA hook

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def _dump(self, runner, when: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        states = {}
        for key in ('generator', 'generator_ema', 'discriminator'):
            net = getattr(model, key, None)
            if net is None:
                continue
            net = net.module if is_model_wrapper(net) else net
            states[key] = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        states['wrapper'] = type(runner.model).__name__
        states['iter'] = runner.iter
        torch.save(states, osp.join(self.out_dir, f'rank{_rank()}_{when}.pth'))

    def before_train(self, runner) -> None:
        self._dump(runner, 'before')

    def after_train(self, runner) -> None:
        self._dump(runner, 'after')
