"""Random resize of a clip (up, down or keep), its scale random-walking along the clip."""
from typing import Any, Dict, List, Optional, Tuple, Union

import cv2
import numpy as np

from realbasicvsr_plugin.registry import TRANSFORMS
from .base_degradation import BaseDegradation, draw_choice
from .degradation_params import (check_distribution, get_choices, get_range, get_step)
from .random_walk import random_walk

#: interpolation names (MMagic's) and their OpenCV flags
INTERPOLATIONS = dict(
    bilinear=cv2.INTER_LINEAR,
    bicubic=cv2.INTER_CUBIC,
    area=cv2.INTER_AREA,
    lanczos=cv2.INTER_LANCZOS4)

#: the resize modes, in the order of ``resize_mode_prob``
RESIZE_MODES = ('up', 'down', 'keep')


def _resize(frame: np.ndarray, size_hw: Tuple[int, int], interpolation: int) -> np.ndarray:
    """Resize one ``H x W x C`` frame, keeping the channel axis (OpenCV drops it for C=1)."""
    out = cv2.resize(frame, (size_hw[1], size_hw[0]), interpolation=interpolation)
    return out.reshape(size_hw + frame.shape[2:])


@TRANSFORMS.register_module()
class RandomResize(BaseDegradation):
    """Resize a clip by a random scale that random-walks from frame to frame.

    Per clip, an interpolation and a mode are drawn: ``up`` draws the scale ``s_0`` from
    ``[1, resize_scale[1]]``, ``down`` from ``[resize_scale[0], 1]``, ``keep`` sets ``s_0 = 1``.
    With ``resize_step > 0`` the scale then walks inside ``resize_scale``. Every frame of the
    output has the clip's size ``s_0 * (H, W)`` (video codecs and batching need one size per
    clip): frame ``i`` is resized to ``s_i * (H, W)`` and then to the clip's size, with the same
    interpolation, so its level of detail follows the walk while its size does not.

    With ``target_size`` the clip is resized to that size (no scale draw, no walk), as in the last
    stage of Real-ESRGAN's pipeline.

    Args:
        params (dict): MMagic's settings:

            - ``resize_opt`` (list[str]) / ``resize_prob`` (list[float]): interpolations
              (``bilinear``, ``bicubic``, ``area``, ``lanczos``) and their probabilities.
            - ``resize_mode_prob`` (list[float]): probabilities of ``up``, ``down``, ``keep``.
            - ``resize_scale`` ([low, high]): the scale range, ``low <= 1 <= high``.
            - ``resize_step`` (float): random-walk step of the scale, default 0.
            - ``is_size_even`` (bool): round the output size down to even numbers.
            - ``target_size`` ((h, w)): a fixed output size instead of a random scale.
            - ``prob``: the probability of resizing a clip, default 1.
        keys (list[str]): The results keys to resize.
    """

    known_params = ('resize_opt', 'resize_prob', 'resize_mode_prob', 'resize_scale',
                    'resize_step', 'is_size_even', 'target_size')

    def __init__(self, params: Dict[str, Any], keys: List[str]) -> None:
        super().__init__(params, keys)
        name = type(self).__name__
        p = self.params
        self.resize_opt, self.resize_prob = get_choices(p, 'resize_opt', 'resize_prob',
                                                        INTERPOLATIONS, name)
        self.is_size_even = bool(p.get('is_size_even', False))
        target = p.get('target_size')
        self.target_size: Optional[Tuple[int, int]] = None
        if target is not None:
            if (not isinstance(target, (list, tuple)) or len(target) != 2 or not all(
                    isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                    for v in target)):
                raise ValueError(f"{name}: params['target_size'] must be (height, width) with "
                                 f'positive integers, got {target!r}')
            self.target_size = (int(target[0]), int(target[1]))
            self.resize_step = 0.0
            return
        self.resize_scale = get_range(p, 'resize_scale', None, name, (1e-6, float('inf')))
        if self.resize_scale is None:
            raise ValueError(f"{name}: params['resize_scale'] (or 'target_size') is required")
        if not self.resize_scale[0] <= 1 <= self.resize_scale[1]:
            raise ValueError(f"{name}: params['resize_scale'] = {list(self.resize_scale)} must "
                             'contain 1 (it is split into a down range and an up range)')
        if 'resize_mode_prob' not in p:
            raise ValueError(f"{name}: params['resize_mode_prob'] (up, down, keep) is required")
        self.resize_mode_prob = check_distribution(p['resize_mode_prob'], 3, 'resize_mode_prob',
                                                   name)
        self.resize_step = get_step(p, 'resize_step', name)

    def _size_at(self, height: int, width: int, scale: float) -> Tuple[int, int]:
        """The output size for a scale (MMagic's rounding: down, then to even if asked)."""
        h_out, w_out = int(height * scale), int(width * scale)
        if self.is_size_even:
            h_out, w_out = 2 * (h_out // 2), 2 * (w_out // 2)
        least = 2 if self.is_size_even else 1
        return max(h_out, least), max(w_out, least)

    def draw_scales(self, num_frames: int) -> np.ndarray:
        """Draw the per-frame scales of one clip (not used with ``target_size``).

        Args:
            num_frames (int): The number of frames.

        Returns:
            np.ndarray: ``num_frames`` scales inside ``resize_scale``.
        """
        mode = draw_choice(RESIZE_MODES, self.resize_mode_prob)
        low, high = self.resize_scale
        if mode == 'up':
            start = np.random.uniform(1, high)
        elif mode == 'down':
            start = np.random.uniform(low, 1)
        else:
            start = 1.0
        return random_walk(start, self.resize_step, self.resize_scale, num_frames)

    def degrade(self, frames: Union[np.ndarray, List[np.ndarray]]) -> np.ndarray:
        """Resize the clip.

        Args:
            frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C``.

        Returns:
            np.ndarray: ``T x H' x W' x C`` frames, same dtype.
        """
        interpolation = INTERPOLATIONS[draw_choice(self.resize_opt, self.resize_prob)]
        num_frames = len(frames)
        height, width = frames[0].shape[:2]
        if self.target_size is not None:
            sizes = [self.target_size] * num_frames
            out_size = self.target_size
        else:
            scales = self.draw_scales(num_frames)
            sizes = [self._size_at(height, width, s) for s in scales]
            out_size = sizes[0]
        out = np.empty((num_frames, ) + out_size + frames[0].shape[2:], dtype=frames[0].dtype)
        for i, (frame, size) in enumerate(zip(frames, sizes)):
            frame = _resize(frame, size, interpolation)
            if size != out_size:
                frame = _resize(frame, out_size, interpolation)
            out[i] = frame
        return out
