"""Random blur with Real-ESRGAN's kernels, its parameters random-walking along the clip."""
import math
from typing import Any, Dict, List, Tuple, Union

import cv2
import numpy as np
from mmagic.datasets.transforms import blur_kernels

from realbasicvsr_plugin.registry import TRANSFORMS
from .base_degradation import BaseDegradation, draw_choice
from .degradation_params import get_choices, get_range, get_step
from .random_walk import random_walk, walk_from_range

#: the kernel names of Real-ESRGAN (and MMagic)
KERNEL_TYPES = ('iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso',
                'plateau_aniso', 'sinc')

_STEP_NAMES = ('sigma_x_step', 'sigma_y_step', 'rotate_angle_step', 'beta_gaussian_step',
               'beta_plateau_step', 'omega_step')


def _draw_beta(value_range: Tuple[float, float]) -> float:
    """Draw a shape parameter the way Real-ESRGAN does.

    Half of the draws fall below 1 and half above when the range straddles 1 (a uniform draw over
    ``[0.5, 4]`` would give ``beta < 1`` only one time in seven).

    Args:
        value_range (tuple[float, float]): ``(low, high)``.

    Returns:
        float: The drawn value.
    """
    low, high = value_range
    if low < 1 < high:
        if np.random.uniform() < 0.5:
            return float(np.random.uniform(low, 1))
        return float(np.random.uniform(1, high))
    return float(np.random.uniform(low, high))


def make_kernel(kernel_type: str, kernel_size: int, sigma_x: float = 1.0, sigma_y: float = 1.0,
                rotate_angle: float = 0.0, beta: float = 1.0, omega: float = math.pi) -> np.ndarray:
    """Build one blur kernel from explicit parameters (with MMagic's kernel functions).

    Args:
        kernel_type (str): One of :data:`KERNEL_TYPES`.
        kernel_size (int): The (odd) side length.
        sigma_x (float): Standard deviation along x (all kernels but ``sinc``).
        sigma_y (float): Standard deviation along y (anisotropic kernels).
        rotate_angle (float): Rotation in radians (anisotropic kernels).
        beta (float): Shape parameter (generalized Gaussian and plateau kernels).
        omega (float): Cut-off frequency in radians (``sinc``).

    Returns:
        np.ndarray: A ``kernel_size x kernel_size`` float32 kernel that sums to 1.
    """
    isotropic = not kernel_type.endswith('aniso')
    if kernel_type == 'sinc':
        # with a degenerate range MMagic's function evaluates exactly this omega
        kernel = blur_kernels.random_circular_lowpass_kernel([omega, omega], kernel_size)
    elif kernel_type in ('iso', 'aniso'):
        kernel = blur_kernels.bivariate_gaussian(
            kernel_size, sigma_x, sigma_y, rotate_angle, is_isotropic=isotropic)
    elif kernel_type.startswith('generalized'):
        kernel = blur_kernels.bivariate_generalized_gaussian(
            kernel_size, sigma_x, sigma_y, rotate_angle, beta, is_isotropic=isotropic)
    elif kernel_type.startswith('plateau'):
        kernel = blur_kernels.bivariate_plateau(
            kernel_size, sigma_x, sigma_y, rotate_angle, beta, is_isotropic=isotropic)
    else:
        raise ValueError(f'unknown kernel type {kernel_type!r}; choose from {KERNEL_TYPES}')
    return (kernel / kernel.sum()).astype(np.float32)


@TRANSFORMS.register_module()
class RandomBlur(BaseDegradation):
    """Blur a clip with a random kernel whose parameters random-walk from frame to frame.

    One kernel type and size are drawn per clip; each continuous parameter starts from a uniform
    draw in its range and then walks, ``p_(i+1) = clip(p_i + U(-step, step), range)``
    (:mod:`.random_walk`). The shape parameters ``beta`` start from Real-ESRGAN's draw (half below
    1, half above). With all steps 0 (the default) the whole clip gets one kernel.

    Frames are filtered with ``cv2.filter2D`` as in MMagic (reflect-101 border), except isotropic
    Gaussian kernels (40% of Real-ESRGAN's draws), which are separable and filtered with two 1-D
    passes, several times faster.

    Args:
        params (dict): MMagic's settings:

            - ``kernel_size`` (list[int]): odd sizes to draw from.
            - ``kernel_list`` (list[str]) / ``kernel_prob`` (list[float]): kernel types
              (:data:`KERNEL_TYPES`) and their probabilities.
            - ``sigma_x``, ``sigma_y`` ([low, high]): standard deviations (``sigma_y`` defaults to
              ``sigma_x``); needed unless the only kernel is ``sinc``.
            - ``rotate_angle`` ([low, high]): radians, default ``[-pi, pi]``.
            - ``beta_gaussian`` ([low, high]): default ``[0.5, 4]``.
            - ``beta_plateau`` ([low, high]): default ``[1, 2]``.
            - ``omega`` ([low, high]): sinc cut-off in radians; by default Real-ESRGAN's
              ``[pi/3, pi]`` for kernels smaller than 13 and ``[pi/5, pi]`` otherwise.
            - ``sigma_x_step``, ``sigma_y_step``, ``rotate_angle_step``, ``beta_gaussian_step``,
              ``beta_plateau_step``, ``omega_step``: random-walk steps, default 0.
            - ``prob``: the probability of blurring a clip, default 1.
        keys (list[str]): The results keys to blur.
    """

    known_params = ('kernel_size', 'kernel_list', 'kernel_prob', 'sigma_x', 'sigma_y',
                    'rotate_angle', 'beta_gaussian', 'beta_plateau', 'omega') + _STEP_NAMES

    def __init__(self, params: Dict[str, Any], keys: List[str]) -> None:
        super().__init__(params, keys)
        name = type(self).__name__
        p = self.params
        self.kernel_list, self.kernel_prob = get_choices(p, 'kernel_list', 'kernel_prob',
                                                         KERNEL_TYPES, name)
        sizes = p.get('kernel_size')
        if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
            sizes = [int(sizes)]
        if (not isinstance(sizes, (list, tuple)) or not sizes or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 and s % 2
                for s in sizes)):
            raise ValueError(f'{name}: params[\'kernel_size\'] must be a list of odd positive '
                             f'integers, got {sizes!r}')
        self.kernel_sizes = [int(s) for s in sizes]
        positive = (1e-12, math.inf)
        self.sigma_x = get_range(p, 'sigma_x', None, name, positive)
        if self.sigma_x is None and any(k != 'sinc' for k in self.kernel_list):
            raise ValueError(f"{name}: params['sigma_x'] is required for the kernels "
                             f"{[k for k in self.kernel_list if k != 'sinc']}")
        self.sigma_y = get_range(p, 'sigma_y', self.sigma_x, name, positive)
        self.rotate_angle = get_range(p, 'rotate_angle', (-math.pi, math.pi), name)
        self.beta_gaussian = get_range(p, 'beta_gaussian', (0.5, 4), name, positive)
        self.beta_plateau = get_range(p, 'beta_plateau', (1, 2), name, positive)
        # pi written with four decimals (3.1416, as in MMagic's configs) is accepted
        self.omega = get_range(p, 'omega', None, name, (1e-12, math.pi + 1e-4))
        self.steps = {step: get_step(p, step, name) for step in _STEP_NAMES}

    def draw_params(self, num_frames: int) -> Dict[str, Any]:
        """Draw the blur parameters of one clip.

        Args:
            num_frames (int): The number of frames.

        Returns:
            dict: ``kernel_type`` and ``kernel_size`` (one per clip) and, for each continuous
            parameter the kernel type uses (``sigma_x``, ``sigma_y``, ``rotate_angle``, ``beta``,
            ``omega``), an array with its value for every frame.
        """
        kernel_type = draw_choice(self.kernel_list, self.kernel_prob)
        kernel_size = self.kernel_sizes[np.random.randint(len(self.kernel_sizes))]
        steps = self.steps
        walks: Dict[str, np.ndarray] = {}
        if kernel_type == 'sinc':
            omega_range = self.omega
            if omega_range is None:  # Real-ESRGAN's default, by kernel size
                omega_range = (math.pi / 3, math.pi) if kernel_size < 13 else (math.pi / 5,
                                                                                math.pi)
            walks['omega'] = walk_from_range(omega_range, steps['omega_step'], num_frames)
        else:
            walks['sigma_x'] = walk_from_range(self.sigma_x, steps['sigma_x_step'], num_frames)
            if kernel_type.endswith('aniso'):
                walks['sigma_y'] = walk_from_range(self.sigma_y, steps['sigma_y_step'], num_frames)
                walks['rotate_angle'] = walk_from_range(self.rotate_angle,
                                                        steps['rotate_angle_step'], num_frames)
            if kernel_type.startswith('generalized'):
                walks['beta'] = random_walk(
                    _draw_beta(self.beta_gaussian), steps['beta_gaussian_step'],
                    self.beta_gaussian, num_frames)
            elif kernel_type.startswith('plateau'):
                walks['beta'] = random_walk(
                    _draw_beta(self.beta_plateau), steps['beta_plateau_step'], self.beta_plateau,
                    num_frames)
        return dict(kernel_type=kernel_type, kernel_size=kernel_size, **walks)

    def draw_kernels(self, num_frames: int) -> Tuple[str, List[np.ndarray]]:
        """Draw the kernels of one clip.

        Args:
            num_frames (int): The number of frames.

        Returns:
            tuple[str, list[np.ndarray]]: The kernel type, and one float32 kernel per frame (the
            same object repeated where consecutive frames share their parameters).
        """
        params = self.draw_params(num_frames)
        kernel_type, kernel_size = params.pop('kernel_type'), params.pop('kernel_size')
        kernels, previous, kernel = [], None, None
        for i in range(num_frames):
            frame_params = {name: float(values[i]) for name, values in params.items()}
            if frame_params != previous:
                kernel = make_kernel(kernel_type, kernel_size, **frame_params)
                previous = frame_params
            kernels.append(kernel)
        return kernel_type, kernels

    def degrade(self, frames: Union[np.ndarray, List[np.ndarray]]) -> np.ndarray:
        """Blur each frame of the clip with its kernel.

        Args:
            frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C``.

        Returns:
            np.ndarray: The blurred ``T x H x W x C`` frames, same dtype (border: reflect-101,
            as MMagic's ``cv2.filter2D``).
        """
        kernel_type, kernels = self.draw_kernels(len(frames))
        if kernel_type == 'iso':
            # an isotropic Gaussian is the outer product of its marginal with itself
            return filter_clip_separable(frames, [kernel.sum(axis=0) for kernel in kernels])
        return filter_clip(frames, kernels)


def filter_clip_separable(frames: Union[np.ndarray, List[np.ndarray]],
                          kernels_1d: List[np.ndarray]) -> np.ndarray:
    """Filter every frame with the separable kernel ``k k^T`` of its 1-D kernel ``k``.

    Args:
        frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C``.
        kernels_1d (list[np.ndarray]): ``T`` 1-D kernels.

    Returns:
        np.ndarray: The filtered ``T x H x W x C`` frames, same dtype.
    """
    out = np.empty((len(frames), ) + frames[0].shape, dtype=frames[0].dtype)
    for i, (frame, kernel) in enumerate(zip(frames, kernels_1d)):
        out[i] = cv2.sepFilter2D(frame, -1, kernel, kernel).reshape(frame.shape)
    return out


def filter_clip(frames: Union[np.ndarray, List[np.ndarray]],
                kernels: List[np.ndarray]) -> np.ndarray:
    """Correlate every frame with its own kernel (``cv2.filter2D``, reflect-101 border).

    OpenCV filters small kernels directly and large ones through a DFT; on this workload one call
    per frame was as fast as a grouped ``torch`` convolution over the whole clip, and steadier.

    Args:
        frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C``.
        kernels (list[np.ndarray]): ``T`` square kernels.

    Returns:
        np.ndarray: The filtered ``T x H x W x C`` frames, same dtype (integer frames are rounded
        and saturated).
    """
    out = np.empty((len(frames), ) + frames[0].shape, dtype=frames[0].dtype)
    for i, (frame, kernel) in enumerate(zip(frames, kernels)):
        out[i] = cv2.filter2D(frame, -1, kernel).reshape(frame.shape)
    return out
