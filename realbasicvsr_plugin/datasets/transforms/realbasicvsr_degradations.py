"""The paper's whole training degradation: Real-ESRGAN's second-order model + video compression.

The settings are written once, as the list ``degradations`` in the shipped config
``configs/_base_/realbasicvsr_degradations.py`` (the ranges and random-walk steps of RealBasicVSR's
released configs, which MMagic's configs copy), and the stage configs use that list.
:func:`realbasicvsr_degradation_cfgs` reads it and adapts it (keys, LQ size, scheme, channel
order); :class:`RealBasicVSRDegradations` builds and applies it from one pipeline entry.
"""
import copy
import functools
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmcv.transforms import BaseTransform, Compose
from mmengine.config import Config

from realbasicvsr_plugin.registry import SCOPE, TRANSFORMS
from .base_degradation import check_channel_order
from .degradation_params import check_keys

#: the shipped config that holds the list, relative to the plugin's config folder
DEGRADATIONS_CONFIG = '_base_/realbasicvsr_degradations.py'


@functools.lru_cache(maxsize=1)
def _paper_degradations() -> Tuple[Dict[str, Any], ...]:
    """The list ``degradations`` of the shipped config, read once."""
    from realbasicvsr_plugin import config_path  # the package imports this module
    return tuple(Config.fromfile(str(config_path(DEGRADATIONS_CONFIG))).to_dict()['degradations'])


def _adapt(entry: Any, keys: List[str], target_size: Tuple[int, int], stochastic: bool,
           video_compression: bool, channel_order: str) -> Optional[Any]:
    """One entry (a config or a group of them) adapted to the arguments; None if dropped."""
    if isinstance(entry, (list, tuple)):
        adapted = [_adapt(e, keys, target_size, stochastic, video_compression, channel_order)
                   for e in entry]
        return [e for e in adapted if e is not None]
    kind = entry['type']
    if kind == 'RandomVideoCompression' and not video_compression:
        return None
    if 'keys' in entry:
        entry['keys'] = list(keys)
    params = entry.get('params')
    if params is not None:
        if not stochastic:
            for name in [n for n in params if n.endswith('_step')]:
                del params[name]
        if 'target_size' in params:
            params['target_size'] = tuple(target_size)
    if kind in ('RandomNoise', 'RandomVideoCompression'):
        entry['channel_order'] = channel_order
    elif kind == 'RandomJPEGCompression':
        entry['bgr2rgb'] = channel_order == 'rgb'  # OpenCV's codec expects BGR
    elif kind == 'DegradationsWithShuffle':
        entry['degradations'] = _adapt(entry['degradations'], keys, target_size, stochastic,
                                       video_compression, channel_order)
    return entry


def realbasicvsr_degradation_cfgs(keys: Sequence[str] = ('img', ),
                                  target_size: Tuple[int, int] = (64, 64),
                                  stochastic: bool = True,
                                  video_compression: bool = True,
                                  channel_order: str = 'rgb') -> List[Dict[str, Any]]:
    """The configs of RealBasicVSR's training degradations, in order.

    First order: blur, resize, noise, JPEG, video compression. Second order: blur (p = 0.8),
    resize, noise, JPEG. Last stage, in random order: video compression, and the group
    [resize to ``target_size``, sinc blur (p = 0.8)]. With ``stochastic`` every continuous
    parameter random-walks from frame to frame with the paper's steps; without, each clip gets one
    parameter set (the conventional scheme). With the defaults the result is exactly the list
    ``degradations`` of ``configs/_base_/realbasicvsr_degradations.py``.

    Args:
        keys (Sequence[str]): The results keys to degrade (the LQ frames, ``'img'`` in MMagic).
        target_size (tuple[int, int]): The LQ size, the GT crop divided by the scale
            (256 / 4 = 64 in the paper).
        stochastic (bool): Use the stochastic degradation scheme (keep the ``*_step`` values).
            Default: True.
        video_compression (bool): Include both video compressions. Default: True.
        channel_order (str): ``'rgb'`` or ``'bgr'``, the order the frames were loaded in.

    Returns:
        list[dict]: Transform configs for the pipeline, after ``CopyValues`` (GT -> ``img``)
        and before ``Clip``.
    """
    keys = check_keys(list(keys), 'realbasicvsr_degradation_cfgs')
    channel_order = check_channel_order(channel_order, 'realbasicvsr_degradation_cfgs')
    return _adapt(copy.deepcopy(list(_paper_degradations())), keys, tuple(target_size),
                  stochastic, video_compression, channel_order)


@TRANSFORMS.register_module()
class RealBasicVSRDegradations(BaseTransform):
    """RealBasicVSR's whole training degradation as one pipeline entry.

    Builds the transforms of :func:`realbasicvsr_degradation_cfgs` (the plugin's versions,
    whatever the default scope) and applies them in order. A config that needs other ranges
    inherits ``configs/_base_/realbasicvsr_degradations.py`` and edits its ``degradations``.

    Args:
        keys (list[str]): The results keys to degrade. Default: ``['img']``.
        target_size (tuple[int, int]): The LQ size. Default: ``(64, 64)``.
        stochastic (bool): The stochastic degradation scheme. Default: True.
        video_compression (bool): Include video compression. Default: True.
        channel_order (str): ``'rgb'`` or ``'bgr'``. Default: ``'rgb'``.
    """

    def __init__(self, keys: Sequence[str] = ('img', ), target_size: Tuple[int, int] = (64, 64),
                 stochastic: bool = True, video_compression: bool = True,
                 channel_order: str = 'rgb') -> None:
        if (not isinstance(target_size, (list, tuple)) or len(target_size) != 2
                or not all(isinstance(v, int) and v > 0 for v in target_size)):
            raise ValueError('RealBasicVSRDegradations: target_size must be (height, width) '
                             f'with positive integers, got {target_size!r}')
        self.cfgs = realbasicvsr_degradation_cfgs(keys, tuple(target_size), stochastic,
                                                  video_compression, channel_order)
        self.keys = list(keys)
        self.stochastic = stochastic
        # `_scope_`: the plugin's transforms even when the default scope is MMagic's
        self.transforms = Compose([TRANSFORMS.build(dict(cfg, _scope_=SCOPE))
                                   for cfg in self.cfgs])

    def transform(self, results: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Degrade the frames under ``keys``.

        Args:
            results (dict): The pipeline's results.

        Returns:
            dict: The degraded results.
        """
        return self.transforms(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys}, stochastic={self.stochastic}, '
                f'transforms={self.transforms.transforms})')
