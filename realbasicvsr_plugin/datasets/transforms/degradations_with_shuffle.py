"""Real-ESRGAN's shuffled last stage: degradations (or groups of them) in a random order."""
import copy
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from realbasicvsr_plugin.registry import SCOPE, TRANSFORMS
from .degradation_params import check_keys

DegradationCfg = Union[dict, Callable, Sequence[Union[dict, Callable]]]


@TRANSFORMS.register_module()
class DegradationsWithShuffle(BaseTransform):
    """Apply degradations in a random order; a nested list is a group kept in its order.

    With ``degradations = [a, b, [c, d]]`` and ``shuffle_idx = None`` the orders are the six
    permutations of ``a``, ``b`` and the group ``[c, d]``. Entries are transform configs
    (their ``keys`` default to this transform's ``keys``) or built transforms. Type names resolve
    in the plugin's registry first, then in MMagic's, whatever the default scope is, so that the
    plugin's ``RandomVideoCompression`` is used even from a config in MMagic's scope.

    Unlike MMagic's class this does not rewrite the config list it is given and does not keep the
    previous call's order: every call draws a fresh permutation.

    Args:
        degradations (list): Transform configs, built transforms, or lists of them (groups).
        keys (list[str]): The results keys the degradations modify.
        shuffle_idx (list[int], optional): Positions whose entries are shuffled among
            themselves; the others stay in place. Default: all positions.
    """

    def __init__(self, degradations: List[DegradationCfg], keys: List[str],
                 shuffle_idx: Optional[List[int]] = None) -> None:
        name = type(self).__name__
        self.keys = check_keys(keys, name)
        if not isinstance(degradations, (list, tuple)) or not degradations:
            raise ValueError(f'{name}: degradations must be a non-empty list, '
                             f'got {degradations!r}')
        self.degradations = [self._build(entry) for entry in degradations]
        if shuffle_idx is None:
            shuffle_idx = list(range(len(self.degradations)))
        if (not isinstance(shuffle_idx, (list, tuple))
                or not all(isinstance(i, (int, np.integer)) for i in shuffle_idx)
                or len(set(shuffle_idx)) != len(shuffle_idx)
                or any(not 0 <= i < len(self.degradations) for i in shuffle_idx)):
            raise ValueError(f'{name}: shuffle_idx must list distinct positions in '
                             f'[0, {len(self.degradations)}), got {shuffle_idx!r}')
        self.shuffle_idx = [int(i) for i in shuffle_idx]

    def _build(self, entry: DegradationCfg) -> Callable:
        """Build one entry: a config, a transform, or a group of them (a ``Compose``)."""
        if isinstance(entry, (list, tuple)):
            return Compose([self._build(sub) for sub in entry])
        if callable(entry):
            return entry
        if not isinstance(entry, dict) or 'type' not in entry:
            raise TypeError(f'{type(self).__name__}: each degradation must be a transform config '
                            f'with a "type", a transform, or a list of them; got {entry!r}')
        cfg = copy.deepcopy(entry)
        cfg.setdefault('keys', list(self.keys))
        if isinstance(cfg['type'], str):
            if TRANSFORMS.get(cfg['type']) is None:
                raise KeyError(f"{type(self).__name__}: unknown transform type {cfg['type']!r}")
            cfg.setdefault('_scope_', SCOPE)  # the plugin's transforms first, whatever the scope
        return TRANSFORMS.build(cfg)

    def order(self) -> List[int]:
        """Draw the order of one call.

        Returns:
            list[int]: A permutation of the entry positions; only ``shuffle_idx`` positions move.
        """
        order = list(range(len(self.degradations)))
        permuted = [self.shuffle_idx[j] for j in np.random.permutation(len(self.shuffle_idx))]
        for position, index in zip(self.shuffle_idx, permuted):
            order[position] = index
        return order

    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Apply the degradations in a random order.

        Args:
            results (dict): The pipeline's results.

        Returns:
            dict: The degraded results.
        """
        for index in self.order():
            results = self.degradations[index](results)
            if results is None:
                return None
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(degradations={self.degradations}, keys={self.keys}, '
                f'shuffle_idx={self.shuffle_idx})')
