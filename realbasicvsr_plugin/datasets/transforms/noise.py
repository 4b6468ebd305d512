"""Random Gaussian or Poisson noise, colour or gray, its level random-walking along the clip."""
from typing import Any, Dict, List, Tuple, Union

import numpy as np

from realbasicvsr_plugin.registry import TRANSFORMS
from .base_degradation import BaseDegradation, check_channel_order, draw_choice
from .clip_frames import as_clip
from .degradation_params import get_choices, get_probability, get_range, get_step
from .random_walk import bulk_generator, bulk_normal, walk_from_range

#: the noise types, as MMagic names them
NOISE_TYPES = ('gaussian', 'poisson')


def luma_weights(channel_order: str) -> Tuple[float, float, float]:
    """ITU-R BT.601 luma weights in the frames' channel order.

    Args:
        channel_order (str): ``'rgb'`` or ``'bgr'``.

    Returns:
        tuple[float, float, float]: The weights of channels 0, 1 and 2.
    """
    rgb = (0.299, 0.587, 0.114)
    return rgb if channel_order == 'rgb' else rgb[::-1]


def _per_frame(values: np.ndarray) -> np.ndarray:
    """Shape per-frame values to broadcast over a ``T x H x W x C`` clip."""
    return values.astype(np.float32)[:, None, None, None]


@TRANSFORMS.register_module()
class RandomNoise(BaseDegradation):
    """Add Gaussian or Poisson noise to a clip; the noise level random-walks from frame to frame.

    Per clip a noise type is drawn, and whether the noise is gray (one value for all channels) or
    colour. The level (``gaussian_sigma`` or ``poisson_scale``) starts from a uniform draw in its
    range and walks with its step (0: one level per clip). The noise of the whole clip is drawn in
    one call.

    Gaussian noise: ``x + sigma_i * n`` with ``n ~ N(0, 1)``. Poisson noise (Real-ESRGAN's):
    ``x + scale_i * (P(v * y) / v - y)``, where ``y`` is the frame rounded into [0, 255] (its luma
    for gray noise) and ``v`` is the number of distinct values of ``y`` rounded up to a power of
    two.

    Args:
        params (dict): MMagic's settings:

            - ``noise_type`` (list[str]) / ``noise_prob`` (list[float]): ``gaussian``,
              ``poisson`` and their probabilities.
            - ``gaussian_sigma`` ([low, high]), ``gaussian_gray_noise_prob`` (float, default 0),
              ``gaussian_sigma_step`` (float, default 0).
            - ``poisson_scale`` ([low, high]), ``poisson_gray_noise_prob`` (float, default 0),
              ``poisson_scale_step`` (float, default 0).
            - ``prob``: the probability of adding noise to a clip, default 1.
        keys (list[str]): The results keys to add noise to.
        channel_order (str): ``'rgb'`` (MMagic's RealBasicVSR pipelines load RGB) or ``'bgr'``;
            sets the luma weights of gray Poisson noise. Default: ``'rgb'``.
    """

    known_params = ('noise_type', 'noise_prob', 'gaussian_sigma', 'gaussian_gray_noise_prob',
                    'gaussian_sigma_step', 'poisson_scale', 'poisson_gray_noise_prob',
                    'poisson_scale_step')

    def __init__(self, params: Dict[str, Any], keys: List[str],
                 channel_order: str = 'rgb') -> None:
        super().__init__(params, keys)
        name = type(self).__name__
        p = self.params
        self.channel_order = check_channel_order(channel_order, name)
        self.noise_type, self.noise_prob = get_choices(p, 'noise_type', 'noise_prob',
                                                       NOISE_TYPES, name)
        self.settings = {}
        for kind, level in (('gaussian', 'gaussian_sigma'), ('poisson', 'poisson_scale')):
            level_range = get_range(p, level, None, name, (0, float('inf')))
            if kind in self.noise_type and level_range is None:
                raise ValueError(f'{name}: params[{level!r}] is required for {kind} noise')
            self.settings[kind] = dict(
                level=level_range,
                step=get_step(p, f'{level}_step', name),
                gray_prob=get_probability(p, f'{kind}_gray_noise_prob', 0.0, name))

    def draw_params(self, num_frames: int) -> Dict[str, Any]:
        """Draw the noise parameters of one clip.

        Args:
            num_frames (int): The number of frames.

        Returns:
            dict: ``noise_type`` and ``gray`` (one per clip) and ``levels``, the sigma (Gaussian)
            or scale (Poisson) of every frame.
        """
        kind = draw_choice(self.noise_type, self.noise_prob)
        setting = self.settings[kind]
        levels = walk_from_range(setting['level'], setting['step'], num_frames)
        gray = bool(np.random.uniform() < setting['gray_prob'])
        return dict(noise_type=kind, levels=levels, gray=gray)

    def degrade(self, frames: Union[np.ndarray, List[np.ndarray]]) -> np.ndarray:
        """Add noise to the clip.

        Args:
            frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C`` on the 0-255
                scale.

        Returns:
            np.ndarray: The noisy frames, float32 for integer input (float input keeps its dtype),
            not clipped.
        """
        params = self.draw_params(len(frames))
        kind, levels, gray = params['noise_type'], params['levels'], params['gray']
        clip = as_clip(frames)
        clip = clip if clip.dtype.kind == 'f' else clip.astype(np.float32)
        if kind == 'gaussian':
            noise = bulk_normal(clip.shape[:3] + (1 if gray else clip.shape[3], ))
        else:
            noise = self._poisson_noise(clip, gray, bulk_generator())
        noise *= _per_frame(levels)
        return np.add(clip, noise, dtype=clip.dtype)

    def _poisson_noise(self, frames: np.ndarray, gray: bool,
                       rng: np.random.Generator) -> np.ndarray:
        """Real-ESRGAN's Poisson noise at scale 1 for every frame of a clip.

        Args:
            frames (np.ndarray): ``T x H x W x C`` float frames.
            gray (bool): Whether to compute one noise value per pixel from the luma.
            rng (np.random.Generator): The generator to draw from.

        Returns:
            np.ndarray: ``T x H x W x C`` (or ``x 1`` when gray) float32 noise.
        """
        if gray and frames.shape[3] == 3:
            weights = np.asarray(luma_weights(self.channel_order), dtype=frames.dtype)
            base = (frames @ weights)[..., None]
        elif gray:
            base = frames[..., :1]
        else:
            base = frames
        base = np.clip(np.rint(base), 0, 255).astype(np.float32)
        # number of distinct values of each frame, with one bincount for the whole clip
        num_frames = len(base)
        codes = base.reshape(num_frames, -1).astype(np.int64)
        codes += (np.arange(num_frames, dtype=np.int64) * 256)[:, None]
        present = np.bincount(codes.ravel(), minlength=num_frames * 256).reshape(num_frames, 256)
        distinct = np.count_nonzero(present, axis=1)
        vals = (2.0**np.ceil(np.log2(distinct))).astype(np.float32)[:, None, None, None]
        noise = rng.poisson(base * vals).astype(np.float32)
        noise /= vals
        noise -= base
        return noise
