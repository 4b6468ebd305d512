"""Natural-scene statistics shared by NIQE and BRISQUE, as the official MATLAB releases do them.

Both metrics normalise an image into MSCN coefficients (mean-subtracted, contrast-normalised:
``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian of sigma 7/6) and fit generalized Gaussian
distributions to them and to products of neighbouring coefficients, by a moment-matching search
over the shape parameter on MATLAB's grid ``0.2:0.001:10``. Everything here works on a batch of
samples at once (one row per image block), so no Python loop runs over pixels or blocks.

Fidelity details kept from the MATLAB code:

* the Gaussian window is ``fspecial('gaussian', 7, 7/6)`` normalised to unit sum;
* NIQE filters with ``imfilter(..., 'replicate')``, BRISQUE with ``filter2(..., 'same')``
  (zero padding);
* the grid search returns the first minimum, and a statistic that is NaN (no negative or no
  positive coefficient) gives the first grid value, as MATLAB's ``min`` does; the NaN then
  propagates into the scale parameters and the callers decide what it means.
"""
from functools import lru_cache
from typing import Tuple

import cv2
import numpy as np
from scipy.ndimage import correlate1d
from scipy.special import gamma

__all__ = [
    'UndefinedScoreError', 'matlab_colon', 'gaussian_window_1d', 'gaussian_window',
    'mscn_coefficients', 'fit_ggd', 'fit_aggd', 'SHAPE_GRID'
]


class UndefinedScoreError(ValueError):
    """The image's statistics leave the score undefined (e.g. a flat, textureless image)."""


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's ``start:step:stop`` with its own rounding of the elements.

    MATLAB computes the first half of the elements as ``start + k * step`` and the second half
    backwards from the end point, so the last element is ``stop`` exactly.

    Args:
        start (float): First element.
        step (float): Increment (positive).
        stop (float): Upper bound.

    Returns:
        np.ndarray: The float64 sequence.
    """
    n = int(np.floor((stop - start) / step + 1e-10))
    k = np.arange(n + 1, dtype=np.float64)
    end = start + n * step
    half = (n + 1) // 2
    values = start + k * step
    values[half:] = end - (n - k[half:]) * step
    return values


SHAPE_GRID = matlab_colon(0.2, 0.001, 10.0)
SHAPE_GRID.setflags(write=False)


@lru_cache(maxsize=1)
def _ratio_tables() -> Tuple[np.ndarray, np.ndarray]:
    g = SHAPE_GRID
    # estimateaggdparam.m: r_gam = gamma(2./gam).^2 ./ (gamma(1./gam) .* gamma(3./gam))
    aggd = gamma(2.0 / g)**2 / (gamma(1.0 / g) * gamma(3.0 / g))
    # estimateggdparam.m (BRISQUE): r_gam = gamma(1./gam) .* gamma(3./gam) ./ gamma(2./gam).^2
    ggd = gamma(1.0 / g) * gamma(3.0 / g) / gamma(2.0 / g)**2
    aggd.setflags(write=False)
    ggd.setflags(write=False)
    return aggd, ggd


def gaussian_window_1d(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """The 1-D factor of ``fspecial('gaussian', size, sigma)`` (normalised to unit sum).

    The 2-D window of MATLAB is the outer product of this vector with itself (its values are far
    above MATLAB's ``eps * max`` cut-off, which therefore removes nothing).

    Args:
        size (int): Window length. Defaults to 7.
        sigma (float): Standard deviation in pixels. Defaults to 7/6.

    Returns:
        np.ndarray: ``(size,)`` float64 vector summing to 1.
    """
    half = (size - 1) / 2.0
    x = np.arange(-half, half + 1.0)
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def gaussian_window(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """``fspecial('gaussian', size, sigma)`` normalised to unit sum.

    Args:
        size (int): Window side. Defaults to 7.
        sigma (float): Standard deviation in pixels. Defaults to 7/6.

    Returns:
        np.ndarray: ``(size, size)`` float64 window.
    """
    g = gaussian_window_1d(size, sigma)
    return np.outer(g, g)


def _filter(img: np.ndarray, g: np.ndarray, mode: str) -> np.ndarray:
    out = correlate1d(img, g, axis=0, mode=mode, cval=0.0)
    return correlate1d(out, g, axis=1, mode=mode, cval=0.0)


def mscn_coefficients(img: np.ndarray,
                      window_1d: np.ndarray,
                      padding: str = 'replicate',
                      exact_flat: bool = True) -> np.ndarray:
    """MSCN coefficients ``(I - mu) / (sigma + 1)`` of a luminance image in [0, 255].

    A pixel whose whole window is constant (a flat area) gets exactly 0, its value in exact
    arithmetic. In floating point the filtered mean of a flat area is off by an ulp or so,
    and the sign of that residue (platform dependent: MATLAB filters with kernels from an SVD)
    decides whether the coefficient counts as a negative or a positive sample of the AGGD fit,
    which moves NIQE of images with flat areas by a few hundredths (see docs/evaluation.md).

    Args:
        img (np.ndarray): ``(h, w)`` float64 image.
        window_1d (np.ndarray): 1-D factor of the separable Gaussian window.
        padding (str): ``'replicate'`` (MATLAB ``imfilter(..., 'replicate')``, NIQE) or
            ``'zeros'`` (MATLAB ``filter2(..., 'same')``, BRISQUE). Defaults to 'replicate'.
        exact_flat (bool): Set the coefficients of flat windows to exactly 0. Defaults to True
            (False keeps the floating-point residue, for comparisons).

    Returns:
        np.ndarray: ``(h, w)`` float64 MSCN coefficients.
    """
    modes = {'replicate': 'nearest', 'zeros': 'constant'}
    if padding not in modes:
        raise ValueError(f"padding must be 'replicate' or 'zeros', got {padding!r}")
    mode = modes[padding]
    mu = _filter(img, window_1d, mode)
    sigma = np.sqrt(np.abs(_filter(img * img, window_1d, mode) - mu * mu))
    mscn = (img - mu) / (sigma + 1.0)
    if not exact_flat:
        return mscn
    size = window_1d.shape[0]
    kernel = np.ones((size, size), np.uint8)
    border = cv2.BORDER_REPLICATE if padding == 'replicate' else cv2.BORDER_CONSTANT
    src = np.ascontiguousarray(img, dtype=np.float64)
    flat = cv2.dilate(src, kernel, borderType=border, borderValue=0) == cv2.erode(
        src, kernel, borderType=border, borderValue=0)
    mscn[flat] = 0.0
    return mscn


def _first_argmin(cost_fn, values: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Index of the first minimum of ``cost_fn(values[:, None])`` over the shape grid, per row."""
    out = np.empty(values.shape[0], dtype=np.int64)
    for start in range(0, values.shape[0], chunk):
        cost = cost_fn(values[start:start + chunk, None])
        # np.argmin returns the first NaN if any (all NaN -> 0, MATLAB's min gives index 1 too)
        out[start:start + chunk] = np.argmin(cost, axis=1)
    return out


def fit_ggd(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Fit a zero-mean generalized Gaussian to each row (BRISQUE's ``estimateggdparam``).

    Args:
        x (np.ndarray): ``(n, m)`` samples, one distribution per row.

    Returns:
        tuple[np.ndarray, np.ndarray]: shape ``alpha`` and standard deviation ``sigma``, each
        ``(n,)``.
    """
    _, ggd_table = _ratio_tables()
    with np.errstate(invalid='ignore', divide='ignore'):
        sigma_sq = np.mean(x * x, axis=1)
        e_abs = np.mean(np.abs(x), axis=1)
        rho = sigma_sq / (e_abs * e_abs)
    idx = _first_argmin(lambda r: np.abs(r - ggd_table[None, :]), rho)
    return SHAPE_GRID[idx], np.sqrt(sigma_sq)


def fit_aggd(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit an asymmetric generalized Gaussian to each row (``estimateaggdparam.m``).

    Args:
        x (np.ndarray): ``(n, m)`` samples, one distribution per row.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: shape ``alpha``, ``left_std`` and
        ``right_std`` (root mean squares of the negative and positive samples), each ``(n,)``.
        A row without negative (or positive) samples gives NaN standard deviations.
    """
    aggd_table, _ = _ratio_tables()
    neg = x < 0
    pos = x > 0
    sq = x * x
    with np.errstate(invalid='ignore', divide='ignore'):
        left_std = np.sqrt(np.where(neg, sq, 0.0).sum(axis=1) / neg.sum(axis=1))
        right_std = np.sqrt(np.where(pos, sq, 0.0).sum(axis=1) / pos.sum(axis=1))
        gamma_hat = left_std / right_std
        r_hat = np.mean(np.abs(x), axis=1)**2 / np.mean(sq, axis=1)
        r_hat_norm = (r_hat * (gamma_hat**3 + 1.0) * (gamma_hat + 1.0) /
                      (gamma_hat**2 + 1.0)**2)
    idx = _first_argmin(lambda r: (aggd_table[None, :] - r)**2, r_hat_norm)
    return SHAPE_GRID[idx], left_std, right_std
