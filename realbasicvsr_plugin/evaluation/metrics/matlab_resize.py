"""Bicubic resizing as MATLAB's ``imresize`` does it (the one the official NIQE/BRISQUE call).

MATLAB's ``imresize(img, scale)`` with its default bicubic kernel (Keys, a = -0.5) and its default
antialiasing when downscaling is the only resampling in the official NIQE and BRISQUE releases
(``imresize(im, 0.5)`` between their two scales). It is written here as two dense weight
matrices, one per axis, so that a resize is two matrix products:

``out = W_rows @ img @ W_cols.T``

with the weights, the output size ``ceil(scale * size)``, the symmetric boundary handling and the
order of the axes (rows first) of MATLAB's ``imresize``. No rounding happens in between: the
metrics resize float images.
"""
from functools import lru_cache
from typing import Callable, Tuple

import numpy as np
from scipy import sparse

__all__ = ['cubic_kernel', 'resize_weights', 'output_size', 'matlab_imresize']


def cubic_kernel(x: np.ndarray) -> np.ndarray:
    """The bicubic kernel of MATLAB's ``imresize`` (Keys' kernel with a = -0.5).

    Args:
        x (np.ndarray): Distances from the output sample, in input pixels.

    Returns:
        np.ndarray: Kernel values, zero outside ``|x| <= 2``.
    """
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=64)
def _cached_weights(in_length: int, out_length: int, scale: float,
                    antialiasing: bool) -> np.ndarray:
    kernel_width = 4.0
    if scale < 1 and antialiasing:
        # A wider, lower kernel: the low-pass filter that MATLAB applies when shrinking.
        kernel: Callable[[np.ndarray], np.ndarray] = (
            lambda d: scale * cubic_kernel(scale * d))
        kernel_width = kernel_width / scale
    else:
        kernel = cubic_kernel
    # Output sample k (1-based) sits at input coordinate u (1-based) in MATLAB's convention.
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(np.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric (mirror) extension at both borders, as MATLAB's aux = [1:n, n:-1:1].
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    cols = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    rows = np.repeat(np.arange(out_length), taps)
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    np.add.at(matrix, (rows, cols.ravel()), weights.ravel())
    matrix.setflags(write=False)
    return matrix


def resize_weights(in_length: int, out_length: int, scale: float,
                   antialiasing: bool = True) -> np.ndarray:
    """Weight matrix of a MATLAB bicubic resize along one axis.

    Args:
        in_length (int): Input length along the axis.
        out_length (int): Output length along the axis.
        scale (float): The scale factor MATLAB uses for the axis (the one given to
            ``imresize``, not ``out_length / in_length``).
        antialiasing (bool): Widen the kernel when downscaling, as MATLAB does by default.
            Defaults to True.

    Returns:
        np.ndarray: Read-only ``(out_length, in_length)`` float64 matrix; each row sums to 1.
    """
    if in_length < 1 or out_length < 1:
        raise ValueError(f'resize lengths must be positive, got {in_length} -> {out_length}')
    if not scale > 0:
        raise ValueError(f'scale must be positive, got {scale}')
    return _cached_weights(int(in_length), int(out_length), float(scale), bool(antialiasing))


def output_size(shape: Tuple[int, int], scale: float) -> Tuple[int, int]:
    """Output size of ``imresize(img, scale)``: ``ceil(scale * size)`` per axis.

    Args:
        shape (tuple[int, int]): Input (height, width).
        scale (float): Scale factor.

    Returns:
        tuple[int, int]: Output (height, width).
    """
    return (int(np.ceil(scale * shape[0])), int(np.ceil(scale * shape[1])))


def matlab_imresize(img: np.ndarray, scale: float, antialiasing: bool = True) -> np.ndarray:
    """Resize an image like MATLAB's ``imresize(img, scale)`` (bicubic).

    Args:
        img (np.ndarray): ``(h, w)`` or ``(h, w, c)`` image of any real dtype; it is
            computed in float64 and returned unrounded.
        scale (float): Scale factor, the same for both axes.
        antialiasing (bool): MATLAB's ``'Antialiasing'`` option. Defaults to True.

    Returns:
        np.ndarray: The resized float64 image, ``ceil(scale * h) x ceil(scale * w)``.
    """
    if img.ndim not in (2, 3):
        raise ValueError(f'matlab_imresize expects an (h, w) or (h, w, c) array, '
                         f'got shape {img.shape}')
    h, w = img.shape[:2]
    out_h, out_w = output_size((h, w), scale)
    w_rows = resize_weights(h, out_h, scale, antialiasing)
    w_cols = resize_weights(w, out_w, scale, antialiasing)
    data = np.asarray(img, dtype=np.float64)
    # Each output sample has only ceil(4 / scale) + 2 taps: sparse products keep it O(taps).
    rows_op = sparse.csr_matrix(w_rows)
    cols_op = sparse.csr_matrix(w_cols)
    if data.ndim == 2:
        out = rows_op @ data                      # rows first, as MATLAB
        return np.asarray((cols_op @ out.T).T)
    c = data.shape[2]
    out = (rows_op @ data.reshape(h, w * c)).reshape(out_h, w, c)
    out = cols_op @ out.transpose(1, 0, 2).reshape(w, out_h * c)
    return np.ascontiguousarray(out.reshape(out_w, out_h, c).transpose(1, 0, 2))
