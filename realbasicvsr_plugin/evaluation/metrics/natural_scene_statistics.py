"""Natural-scene statistics shared by NIQE and BRISQUE, as the official MATLAB releases do them.

Both metrics normalise an image into MSCN coefficients (mean-subtracted, contrast-normalised:
``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian of sigma 7/6) and fit generalized Gaussian
distributions to them and to products of neighbouring coefficients, by a moment-matching search
over the shape parameter on MATLAB's grid ``0.2:0.001:10``. Everything here works on a batch of
samples at once (one row per image block), so no Python loop runs over pixels or blocks.

Fidelity details kept from the MATLAB code:

* the Gaussian window is ``fspecial('gaussian', 7, 7/6)`` normalised to unit sum;
* BRISQUE filters with ``filter2(window, x, 'same')`` (zero padding). MATLAB's ``filter2`` sees
  that the window has rank one and filters with its SVD factors, ``conv2(hcol, hrow, x, 'same')``:
  a column pass, then a row pass. :func:`filter2_same` repeats that arithmetic: the factors are
  fixed constants (:data:`FILTER2_HCOL`, :data:`FILTER2_HROW`, from Intel MKL's ``dgesvd``, the
  LAPACK that MATLAB ships),
  the passes run in MATLAB's order and each output sums its seven products in tap order. The
  mean of a flat window is then off by an ulp or so, as in MATLAB, and :func:`mscn_filter2`
  keeps that residue: its sign (or its being exactly 0) decides on which side of the AGGD fits
  such a pixel falls, which moves BRISQUE of images with flat areas by points, not hundredths
  (see docs/evaluation.md);
* NIQE filters with ``imfilter(..., 'replicate')``, whose arithmetic (Intel IPP inside MATLAB)
  could not be reproduced: the calibration image I03 shows the separable double-precision
  residue 0.03 off the release, setting flat windows to exactly 0 lands 0.006 from it, so NIQE
  keeps that rule (:func:`mscn_coefficients`);
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
    'matlab_gaussian_window', 'matlab_separable_factors', 'FILTER2_HCOL', 'FILTER2_HROW',
    'filter2_same', 'mscn_filter2', 'mscn_coefficients', 'fit_ggd', 'fit_aggd', 'SHAPE_GRID'
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

    The outer product of this vector with itself is MATLAB's 2-D window up to rounding
    (:func:`matlab_gaussian_window` has it to the last bit); NIQE filters with it (its values
    are far above MATLAB's ``eps * max`` cut-off, which therefore removes nothing).

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


def matlab_gaussian_window() -> np.ndarray:
    """The BRISQUE/NIQE window exactly as the releases compute it, in MATLAB's operation order.

    ``fspecial('gaussian', 7, 7/6)`` (``exp(-(x.^2 + y.^2) / (2*std*std))`` divided by the sum of
    its elements in column-major order), then ``window / sum(sum(window))`` (column sums, then
    their sum) as ``brisque_feature.m`` and ``computequality.m`` do. It differs from the outer
    product of :func:`gaussian_window_1d` by ulps, which is what its SVD factors reflect.

    Returns:
        np.ndarray: ``(7, 7)`` float64 window.
    """
    std = 7.0 / 6.0
    x = np.arange(-3.0, 4.0)
    xx, yy = np.meshgrid(x, x)
    h = np.exp(-(xx * xx + yy * yy) / (2.0 * std * std))
    total = 0.0
    for value in h.T.ravel():  # sum(h(:)): column-major, one addition after the other
        total += value
    h = h / total
    total = 0.0
    for column in h.T:  # sum(sum(window)): each column's sum, then the sum of those
        col_sum = 0.0
        for value in column:
            col_sum += value
        total += col_sum
    return h / total


def matlab_separable_factors(stencil: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``hcol`` and ``hrow`` of a rank-one stencil as ``filter2``/``imfilter`` compute them.

    ``[u, s, v] = svd(stencil); hcol = u(:,1) * sqrt(s(1)); hrow = v(:,1) * sqrt(s(1))``, with
    the installed LAPACK's ``dgesvd`` (the QR-iteration SVD behind MATLAB's ``[u, s, v] = svd``).
    Different LAPACK builds give factors that differ in their last digits (two OpenBLAS builds
    and Intel MKL, which MATLAB ships, disagree by up to ~120 ulps on the outer taps), which is
    why :data:`FILTER2_HCOL` and :data:`FILTER2_HROW` are fixed constants; this function is for
    checking and studying them.

    Args:
        stencil (np.ndarray): ``(k, k)`` rank-one matrix.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``hcol`` and ``hrow``, each ``(k,)``.
    """
    from scipy.linalg import svd
    u, s, vt = svd(stencil, lapack_driver='gesvd')
    root = np.sqrt(s[0])
    return u[:, 0] * root, vt[0, :] * root


# The factors of filter2's stencil rot90(window, 2) of BRISQUE's window as MATLAB's LAPACK
# computes them: Intel MKL's LAPACKE_dgesvd (MKL 2026.2 from PyPI, called through ctypes on
# matlab_gaussian_window()), identical on MKL's AVX, AVX2 and AVX-512 code paths (MKL_CBWR);
# its SSE4.2/compatible path differs in hcol[0], hcol[1], hcol[5] by 1-12 ulps. LAPACK returns
# them negative (their products are the window; the sign flip is exact and changes no result).
# They are not symmetric (hcol[0] and hcol[6] differ by 117 ulps).
FILTER2_HCOL = np.array([float.fromhex(v) for v in (
    '-0x1.9b92991f248f7p-7', '-0x1.42e11ca517a61p-4', '-0x1.e5fb7c557fad3p-3',
    '-0x1.5edacbc602379p-2', '-0x1.e5fb7c557fad3p-3', '-0x1.42e11ca517a61p-4',
    '-0x1.9b92991f24882p-7')])
FILTER2_HROW = np.array([float.fromhex(v) for v in (
    '-0x1.9b92991f2487ep-7', '-0x1.42e11ca517a5ep-4', '-0x1.e5fb7c557fad1p-3',
    '-0x1.5edacbc602378p-2', '-0x1.e5fb7c557fad1p-3', '-0x1.42e11ca517a60p-4',
    '-0x1.9b92991f24881p-7')])
FILTER2_HCOL.setflags(write=False)
FILTER2_HROW.setflags(write=False)


def _conv_same_in_tap_order(x: np.ndarray, taps: np.ndarray, axis: int) -> np.ndarray:
    """``conv(x, taps, 'same')`` along one axis with zero padding, summed in tap order.

    Output ``i`` is ``sum_k taps[k] * x[i + c - k]`` (``c`` the centre), accumulated for
    ``k = 0, 1, ...`` one rounded product and one rounded addition at a time, as a loop over
    the kernel taps does it; NumPy neither fuses nor reorders these element-wise operations.
    A tap that falls outside the image adds an exact zero, so it is skipped.
    """
    n = x.shape[axis]
    centre = taps.shape[0] // 2
    out = np.zeros_like(x)
    tmp = np.empty_like(x)
    for k, tap in enumerate(taps):
        shift = centre - k  # output i reads x[i + shift]
        lo, hi = max(0, -shift), min(n, n - shift)
        if lo >= hi:
            continue
        dst = [slice(None)] * x.ndim
        src = [slice(None)] * x.ndim
        dst[axis] = slice(lo, hi)
        src[axis] = slice(lo + shift, hi + shift)
        dst, src = tuple(dst), tuple(src)
        np.multiply(x[src], tap, out=tmp[dst])
        np.add(out[dst], tmp[dst], out=out[dst])
    return out


def filter2_same(img: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(window, img, 'same')`` for BRISQUE's window, with MATLAB's arithmetic.

    ``filter2`` rotates the window (``rot90(window, 2)``), finds it separable and computes
    ``conv2(hcol, hrow, img, 'same')``: each column convolved with ``hcol``, then each row of that
    with ``hrow``, zero outside the image. No case is special: a flat window gives what MATLAB
    gives, its value up to a residue of an ulp or so (sometimes exactly its value).

    Args:
        img (np.ndarray): ``(h, w)`` float64 image.

    Returns:
        np.ndarray: ``(h, w)`` float64 filtered image.
    """
    columns = _conv_same_in_tap_order(np.asarray(img, dtype=np.float64), FILTER2_HCOL, axis=0)
    return _conv_same_in_tap_order(columns, FILTER2_HROW, axis=1)


def mscn_filter2(img: np.ndarray) -> np.ndarray:
    """BRISQUE's MSCN coefficients, as ``brisque_feature.m`` computes them.

    ``mu = filter2(window, I, 'same')``, ``sigma = sqrt(abs(filter2(window, I.*I, 'same') -
    mu.*mu))``, ``(I - mu) ./ (sigma + 1)``, with :func:`filter2_same`.

    Args:
        img (np.ndarray): ``(h, w)`` float64 luminance in [0, 255].

    Returns:
        np.ndarray: ``(h, w)`` float64 MSCN coefficients.
    """
    img = np.asarray(img, dtype=np.float64)
    mu = filter2_same(img)
    sigma = np.sqrt(np.abs(filter2_same(img * img) - mu * mu))
    return (img - mu) / (sigma + 1.0)


def _filter(img: np.ndarray, g: np.ndarray, mode: str) -> np.ndarray:
    out = correlate1d(img, g, axis=0, mode=mode, cval=0.0)
    return correlate1d(out, g, axis=1, mode=mode, cval=0.0)


def mscn_coefficients(img: np.ndarray,
                      window_1d: np.ndarray,
                      padding: str = 'replicate',
                      exact_flat: bool = True) -> np.ndarray:
    """MSCN coefficients ``(I - mu) / (sigma + 1)`` with a separable 1-D window (NIQE's).

    A pixel whose whole window is constant (a flat area) gets exactly 0, its value in exact
    arithmetic. In floating point the filtered mean of a flat area is off by an ulp or so,
    and the sign of that residue decides whether the coefficient counts as a negative or a
    positive sample of the AGGD fit. MATLAB's ``imfilter`` (NIQE) computes that residue in a way
    that could not be reproduced here, and exact zeros land closest to the release on the
    calibration images (see the module docstring and docs/evaluation.md). BRISQUE uses
    :func:`mscn_filter2` instead, which reproduces ``filter2``'s residue.

    Args:
        img (np.ndarray): ``(h, w)`` float64 image.
        window_1d (np.ndarray): 1-D factor of the separable Gaussian window.
        padding (str): ``'replicate'`` (MATLAB ``imfilter(..., 'replicate')``, NIQE) or
            ``'zeros'`` (zero padding, for comparisons with :func:`mscn_filter2`).
            Defaults to 'replicate'.
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
