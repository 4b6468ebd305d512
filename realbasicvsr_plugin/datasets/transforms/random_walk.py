"""The stochastic degradation scheme: degradation parameters that random-walk along a clip.

RealBasicVSR (Sec. 4.2 of the paper) varies every degradation parameter ``p`` from frame to frame
instead of fixing it per clip:

    p_(i+1) = clip(p_i + r_(i+1), low, high),   r_(i+1) ~ U(-step, step),

starting from ``p_0 ~ U(low, high)``. With ``step = 0`` every frame gets ``p_0``: the conventional
scheme with one parameter set per clip.

Every random draw of the degradations goes through NumPy's global generator (``np.random``),
which MMEngine seeds (``randomness=dict(seed=...)``) and re-seeds in each data-loader worker, so a
fixed seed reproduces the degraded clips. Bulk draws (noise images) use fast generators
(:class:`numpy.random.Generator`, :class:`torch.Generator`) that are themselves seeded from the
global generator.
"""
from typing import Tuple

import numpy as np
import torch


def random_walk(start: float, step: float, value_range: Tuple[float, float],
                num_frames: int) -> np.ndarray:
    """Walk a parameter along a clip.

    Args:
        start (float): The value for the first frame, ``p_0``.
        step (float): The largest change from one frame to the next; 0 keeps ``p_0``.
        value_range (tuple[float, float]): ``(low, high)``; every value is clipped into it.
        num_frames (int): The number of frames.

    Returns:
        np.ndarray: ``num_frames`` float64 values ``p_0, ..., p_(num_frames-1)``.
    """
    low, high = value_range
    values = np.empty(num_frames, dtype=np.float64)
    value = float(np.clip(start, low, high))
    if step == 0 or num_frames == 1:
        values.fill(value)
        return values
    increments = np.random.uniform(-step, step, size=num_frames - 1)
    values[0] = value
    for i, increment in enumerate(increments, start=1):
        value = min(max(value + increment, low), high)
        values[i] = value
    return values


def walk_from_range(value_range: Tuple[float, float], step: float, num_frames: int) -> np.ndarray:
    """Draw ``p_0`` uniformly from ``value_range`` and walk it along the clip.

    Args:
        value_range (tuple[float, float]): ``(low, high)``.
        step (float): The largest change from one frame to the next.
        num_frames (int): The number of frames.

    Returns:
        np.ndarray: ``num_frames`` float64 values inside ``value_range``.
    """
    start = np.random.uniform(value_range[0], value_range[1])
    return random_walk(start, step, value_range, num_frames)


def bulk_generator() -> np.random.Generator:
    """A fast generator for large draws (noise images), seeded from ``np.random``.

    Returns:
        np.random.Generator: A PCG64 generator whose seed is drawn from the global generator, so
        that a fixed global seed reproduces its draws too.
    """
    return np.random.default_rng(np.random.randint(0, 2**31 - 1))


def bulk_normal(shape: Tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 samples for a whole clip, seeded from ``np.random``.

    ``torch``'s CPU sampler is several times faster than NumPy's for millions of samples.

    Args:
        shape (tuple[int, ...]): The shape of the samples.

    Returns:
        np.ndarray: float32 samples of N(0, 1).
    """
    generator = torch.Generator().manual_seed(int(np.random.randint(0, 2**31 - 1)))
    return torch.randn(shape, generator=generator, dtype=torch.float32).numpy()
