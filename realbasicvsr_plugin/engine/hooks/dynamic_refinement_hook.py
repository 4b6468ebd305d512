"""Switch the generator to its test-time dynamic refinement for validation and testing.

Training runs one cleaning pass (MMagic's configs keep ``dynamic_refine_thres=255`` for training
and tell the user to edit it to 1.5, or 5 for GAN models, before testing). This hook makes that
switch itself: before a validation or test loop it sets every generator's theta and pass limit to
the test values, and afterwards restores the training values, so no config needs a hand edit. It
also logs how many cleaning passes the frames got (mean and histogram).

Under distributed testing the statistics are gathered from every rank the way MMEngine gathers
metric results: one record per sample, interleaved in the sampler's order and cut to the data
set's size, so that the samples a ``DefaultSampler`` repeats to even out the ranks count once.
"""
from collections import Counter
from itertools import zip_longest
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import all_gather_object
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from realbasicvsr_plugin.models.realbasicvsr_net import check_refinement
from realbasicvsr_plugin.registry import HOOKS


@HOOKS.register_module()
class DynamicRefinementHook(Hook):
    """Set theta and the pass limit of Eq. 5 for validation/testing, restore them afterwards.

    Args:
        dynamic_refine_thres (float | None): theta on the 0-255 pixel scale for testing (the
            network's name for it): 1.5 for models trained without GAN losses, 5 for GAN models
            (paper). ``None``: one pass.
            Default: 1.5.
        max_passes (int): Pass limit at test time. Default: 3.
        val_dynamic_refine_thres (float, optional): theta for validation during training;
            defaults to ``dynamic_refine_thres``.
        generator_keys (Sequence[str]): Attributes of the model that hold generators to switch.
            Default: ('generator', 'generator_ema').
    """

    priority = 'NORMAL'

    def __init__(self, dynamic_refine_thres: Optional[float] = 1.5, max_passes: int = 3,
                 val_dynamic_refine_thres: Optional[float] = None,
                 generator_keys: Sequence[str] = ('generator', 'generator_ema')) -> None:
        for value in (dynamic_refine_thres, val_dynamic_refine_thres):
            try:  # the network's own rule
                check_refinement(value, max_passes)
            except ValueError as err:
                raise ValueError(f'DynamicRefinementHook: {err}') from None
        self.dynamic_refine_thres = dynamic_refine_thres
        self.val_dynamic_refine_thres = dynamic_refine_thres \
            if val_dynamic_refine_thres is None else val_dynamic_refine_thres
        self.max_passes = max_passes
        self.generator_keys = tuple(generator_keys)
        self._saved: Dict[str, Tuple[Optional[float], int]] = {}
        # per data loader of the loop, one list of per-frame passes per sample
        self._records: List[List[List[int]]] = []
        #: summary of the last loop, over all ranks: {'mean': float, 'histogram': {passes: frames}}
        self.last_summary: Optional[dict] = None

    def _generators(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for key in self.generator_keys:
            net = getattr(model, key, None)
            # under MMSeparateDistributedDataParallel each generator has a DDP wrapper of its own
            if is_model_wrapper(net):
                net = net.module
            if net is not None and hasattr(net, 'set_refinement'):
                yield key, net

    def _switch(self, runner, thres: Optional[float]) -> None:
        self._saved.clear()
        self._records = []
        for key, net in self._generators(runner):
            self._saved[key] = (net.dynamic_refine_thres, net.max_passes)
            net.set_refinement(thres, self.max_passes)
            net.last_passes = None

    def _collect(self, runner, batch_idx: int) -> None:
        if batch_idx == 0 or not self._records:  # MMagic's loops restart at 0 for each loader
            self._records.append([])
        for _, net in self._generators(runner):
            passes = getattr(net, 'last_passes', None)
            if isinstance(passes, torch.Tensor):
                self._records[-1].extend(passes.reshape(passes.shape[0], -1).tolist())
                net.last_passes = None

    @staticmethod
    def _dataset_sizes(loop) -> List[Optional[int]]:
        loaders = getattr(loop, 'dataloaders', None) or [getattr(loop, 'dataloader', None)]
        return [len(dl.dataset) if hasattr(dl, 'dataset') else None for dl in loaders]

    def _gather(self, loop) -> Counter:
        """The passes of every sample of the loop, from all ranks, each sample once."""
        per_rank = all_gather_object(self._records)
        sizes = self._dataset_sizes(loop)
        counts: Counter = Counter()
        for i in range(max(len(records) for records in per_rank)):
            parts = [records[i] if i < len(records) else [] for records in per_rank]
            ordered = [s for group in zip_longest(*parts) for s in group if s is not None]
            size = sizes[i] if i < len(sizes) else None
            for sample in ordered[:size]:
                counts.update(sample)
        return counts

    def _restore(self, runner, mode: str) -> None:
        for key, net in self._generators(runner):
            if key in self._saved:
                net.set_refinement(*self._saved[key])
        self._saved.clear()
        passes = self._gather(getattr(runner, f'{mode}_loop', None))
        self._records = []
        frames = sum(passes.values())
        if not frames:
            return
        mean = sum(p * k for p, k in passes.items()) / frames
        hist = dict(sorted(passes.items()))
        self.last_summary = dict(mean=mean, histogram=hist)
        runner.message_hub.update_scalar(f'{mode}/refine_passes_mean', mean)
        runner.logger.info(f'dynamic refinement ({mode}): {frames} frames, mean passes per frame '
                           f'{mean:.3f}, histogram (passes: frames) {hist}')

    def before_val_epoch(self, runner) -> None:
        self._switch(runner, self.val_dynamic_refine_thres)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(runner, batch_idx)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._restore(runner, 'val')

    def before_test_epoch(self, runner) -> None:
        self._switch(runner, self.dynamic_refine_thres)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(runner, batch_idx)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._restore(runner, 'test')
