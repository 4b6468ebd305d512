"""The paper's whole training degradation: Real-ESRGAN's second-order model + video compression.

:func:`realbasicvsr_degradation_cfgs` writes the list of transform configs (with the ranges and
random-walk steps of RealBasicVSR's released configs, which MMagic's configs copy);
:class:`RealBasicVSRDegradations` builds and applies that list from one config entry.
"""
import math
from typing import Any, Dict, List, Sequence, Tuple

from mmcv.transforms import BaseTransform

from realbasicvsr_plugin.registry import TRANSFORMS
from .base_degradation import check_channel_order
from .degradation_params import check_keys

_KERNEL_SIZES = [7, 9, 11, 13, 15, 17, 19, 21]
_KERNEL_LIST = [
    'iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso', 'sinc'
]
_KERNEL_PROB = [0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1]
_INTERPOLATIONS = ['bilinear', 'area', 'bicubic']


def _steps(stochastic: bool, **steps: float) -> Dict[str, float]:
    """The random-walk steps, or none for the conventional scheme (one value per clip)."""
    return dict(steps) if stochastic else {}


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
    parameter set (the conventional scheme).

    Args:
        keys (Sequence[str]): The results keys to degrade (the LQ frames, ``'img'`` in MMagic).
        target_size (tuple[int, int]): The LQ size, the GT crop divided by the scale
            (256 / 4 = 64 in the paper).
        stochastic (bool): Use the stochastic degradation scheme. Default: True.
        video_compression (bool): Include both video compressions. Default: True.
        channel_order (str): ``'rgb'`` or ``'bgr'``, the order the frames were loaded in.

    Returns:
        list[dict]: Transform configs for the pipeline, after ``CopyValues`` (GT -> ``img``)
        and before ``Clip``.
    """
    keys = check_keys(list(keys), 'realbasicvsr_degradation_cfgs')
    channel_order = check_channel_order(channel_order, 'realbasicvsr_degradation_cfgs')
    blur_steps = _steps(
        stochastic,
        sigma_x_step=0.02,
        sigma_y_step=0.02,
        rotate_angle_step=0.31416,
        beta_gaussian_step=0.05,
        beta_plateau_step=0.1,
        omega_step=0.0628)

    def blur(sigma: List[float], prob: float) -> Dict[str, Any]:
        return dict(
            type='RandomBlur',
            params=dict(
                prob=prob,
                kernel_size=list(_KERNEL_SIZES),
                kernel_list=list(_KERNEL_LIST),
                kernel_prob=list(_KERNEL_PROB),
                sigma_x=sigma,
                sigma_y=list(sigma),
                rotate_angle=[-math.pi, math.pi],
                beta_gaussian=[0.5, 4],
                beta_plateau=[1, 2],
                **blur_steps),
            keys=list(keys))

    def resize(mode_prob: List[float], scale: List[float], step: float) -> Dict[str, Any]:
        return dict(
            type='RandomResize',
            params=dict(
                resize_mode_prob=mode_prob,
                resize_scale=scale,
                resize_opt=list(_INTERPOLATIONS),
                resize_prob=[1 / 3] * 3,
                is_size_even=True,
                **_steps(stochastic, resize_step=step)),
            keys=list(keys))

    def noise(sigma: List[float], scale: List[float]) -> Dict[str, Any]:
        return dict(
            type='RandomNoise',
            params=dict(
                noise_type=['gaussian', 'poisson'],
                noise_prob=[0.5, 0.5],
                gaussian_sigma=sigma,
                gaussian_gray_noise_prob=0.4,
                poisson_scale=scale,
                poisson_gray_noise_prob=0.4,
                **_steps(stochastic, gaussian_sigma_step=0.1, poisson_scale_step=0.005)),
            keys=list(keys),
            channel_order=channel_order)

    def jpeg() -> Dict[str, Any]:
        return dict(
            type='RandomJPEGCompression',
            params=dict(quality=[30, 95], **_steps(stochastic, quality_step=3)),
            keys=list(keys),
            bgr2rgb=channel_order == 'rgb')

    def video() -> Dict[str, Any]:
        return dict(
            type='RandomVideoCompression',
            params=dict(
                codec=['libx264', 'h264', 'mpeg4'], codec_prob=[1 / 3] * 3, bitrate=[1e4, 1e5]),
            keys=list(keys),
            channel_order=channel_order)

    first = [blur([0.2, 3], 1.0), resize([0.2, 0.7, 0.1], [0.15, 1.5], 0.015),
             noise([1, 30], [0.05, 3]), jpeg()]
    if video_compression:
        first.append(video())
    second = [blur([0.2, 1.5], 0.8), resize([0.3, 0.4, 0.3], [0.3, 1.2], 0.03),
              noise([1, 25], [0.05, 2.5]), jpeg()]
    final_group = [
        dict(
            type='RandomResize',
            params=dict(
                target_size=tuple(target_size),
                resize_opt=list(_INTERPOLATIONS),
                resize_prob=[1 / 3] * 3)),
        dict(
            type='RandomBlur',
            params=dict(
                prob=0.8,
                kernel_size=list(_KERNEL_SIZES),
                kernel_list=['sinc'],
                kernel_prob=[1],
                omega=[math.pi / 3, math.pi],
                **_steps(stochastic, omega_step=0.0628))),
    ]
    last = [video(), final_group] if video_compression else [final_group]
    return first + second + [dict(type='DegradationsWithShuffle', degradations=last,
                                  keys=list(keys))]


@TRANSFORMS.register_module()
class RealBasicVSRDegradations(BaseTransform):
    """RealBasicVSR's whole training degradation as one pipeline entry.

    Builds the transforms of :func:`realbasicvsr_degradation_cfgs` (the plugin's versions) and
    applies them in order. A config that needs other ranges can paste that list instead (see
    ``docs/degradations.md``).

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
        self.transforms = []
        for cfg in self.cfgs:
            cfg = dict(cfg)
            self.transforms.append(TRANSFORMS.get(cfg.pop('type'))(**cfg))

    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Degrade the frames under ``keys``.

        Args:
            results (dict): The pipeline's results.

        Returns:
            dict: The degraded results.
        """
        for transform in self.transforms:
            results = transform(results)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys}, stochastic={self.stochastic}, '
                f'transforms={self.transforms})')
