"""The luminance plane that the no-reference metrics score, from any image array.

The official MATLAB releases read an 8-bit image and score ``rgb2gray`` of it (an 8-bit gray
image); PIRM-style evaluations score the Y channel of ``rgb2ycbcr`` (also 8-bit). This module
turns an array in MMagic's conventions (``HWC``/``CHW``/``HW``, BGR by default, values in
[0, 255], NumPy or torch) into that plane, with MATLAB's coefficients and rounding:

1. the colour image is quantised to 8 bits (round half away from zero, clip to [0, 255]), as
   when a frame is written to an 8-bit PNG before being scored;
2. ``'gray'``: ``round(0.298936021293776 R + 0.587043074451121 G + 0.114020904255103 B)``
   (MATLAB ``rgb2gray``); ``'y'``: ``round(16 + (65.481 R + 128.553 G + 24.966 B) / 255)``
   (MATLAB ``rgb2ycbcr``);
3. ``crop_border`` pixels are removed from each edge.

Defined conversions: a single-channel image is its own luminance; a 4-channel image is taken as
colour plus alpha and the alpha channel is dropped; a 2-channel image as gray plus alpha.
Anything else gets a ``ValueError``/``TypeError`` that names the problem, including a float image
whose values all lie in (0, 1], which is taken for an image on the wrong scale.
"""
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ['to_luminance', 'quantize_uint8', 'GRAY_COEFFS', 'Y_COEFFS']

# MATLAB rgb2gray: first row of inv([1 0.956 0.621; 1 -0.272 -0.647; 1 -1.106 1.703]).
GRAY_COEFFS = (0.298936021293776, 0.587043074451121, 0.114020904255103)
# MATLAB rgb2ycbcr (ITU-R BT.601, studio range), for R, G, B in [0, 255].
Y_COEFFS = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
Y_OFFSET = 16.0

_INPUT_ORDERS = ('HWC', 'CHW', 'HW')
_CONVERSIONS = ('gray', 'y')
_CHANNEL_ORDERS = ('bgr', 'rgb')


def _as_numpy(img: Any, name: str) -> np.ndarray:
    if hasattr(img, 'detach') and hasattr(img, 'cpu'):  # torch.Tensor without importing torch
        img = img.detach().cpu().numpy()
    if not isinstance(img, np.ndarray):
        raise TypeError(f'{name} must be a numpy array or a torch tensor, got {type(img).__name__}')
    if img.dtype == np.bool_ or not (np.issubdtype(img.dtype, np.integer)
                                     or np.issubdtype(img.dtype, np.floating)):
        raise TypeError(f'{name} must hold real numbers in [0, 255], got dtype {img.dtype}')
    return img


def quantize_uint8(img: np.ndarray) -> np.ndarray:
    """Round half away from zero and clip to [0, 255], as MATLAB's ``uint8()``.

    Args:
        img (np.ndarray): Real-valued array.

    Returns:
        np.ndarray: float64 array of integers in [0, 255].
    """
    data = np.asarray(img, dtype=np.float64)
    return np.clip(np.floor(data + 0.5), 0.0, 255.0)


def to_luminance(img: Any,
                 crop_border: int = 0,
                 input_order: str = 'HWC',
                 convert_to: str = 'gray',
                 channel_order: str = 'bgr',
                 name: str = 'img',
                 min_size: Optional[Tuple[int, int]] = None,
                 metric_name: str = 'the metric') -> np.ndarray:
    """Turn an image array into the 8-bit luminance plane that NIQE/BRISQUE score.

    Args:
        img (np.ndarray | torch.Tensor): Image with values in [0, 255].
        crop_border (int): Pixels removed from each edge after the conversion. Defaults to 0.
        input_order (str): ``'HWC'``, ``'CHW'`` or ``'HW'``. Defaults to 'HWC'.
        convert_to (str): ``'gray'`` (MATLAB ``rgb2gray``, the official releases) or ``'y'``
            (Y of MATLAB ``rgb2ycbcr``). Case-insensitive. Defaults to 'gray'.
        channel_order (str): ``'bgr'`` (MMagic's convention) or ``'rgb'``. Defaults to 'bgr'.
        name (str): How to call the image in error messages. Defaults to 'img'.
        min_size (tuple[int, int], optional): ``(min_h, min_w)`` the plane must have after
            cropping; smaller planes get a ``ValueError``. Defaults to None (no minimum).
        metric_name (str): The metric named in the too-small message. Defaults to 'the metric'.

    Returns:
        np.ndarray: ``(h, w)`` float64 array of integers in [0, 255].
    """
    if not isinstance(input_order, str) or input_order.upper() not in _INPUT_ORDERS:
        raise ValueError(f'input_order must be one of {_INPUT_ORDERS}, got {input_order!r}')
    input_order = input_order.upper()
    if not isinstance(convert_to, str) or convert_to.lower() not in _CONVERSIONS:
        raise ValueError(f"convert_to must be 'gray' or 'y', got {convert_to!r}")
    convert_to = convert_to.lower()
    if not isinstance(channel_order, str) or channel_order.lower() not in _CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    channel_order = channel_order.lower()
    if isinstance(crop_border, bool) or not isinstance(crop_border, (int, np.integer)) \
            or crop_border < 0:
        raise ValueError(f'crop_border must be a non-negative integer, got {crop_border!r}')

    data = _as_numpy(img, name)
    expected_ndim = 2 if input_order == 'HW' else 3
    if data.ndim == 2 and input_order != 'HW':
        data = data[..., None] if input_order == 'HWC' else data[None]
    if data.ndim != expected_ndim:
        raise ValueError(f'{name} with input_order={input_order!r} must have {expected_ndim} '
                         f'dimensions, got shape {tuple(data.shape)}')
    if input_order == 'HW':
        data = data[..., None]
    elif input_order == 'CHW':
        data = np.transpose(data, (1, 2, 0))
    channels = data.shape[2]
    if channels not in (1, 2, 3, 4):
        raise ValueError(f'{name} must have 1 (gray), 2 (gray+alpha), 3 (colour) or 4 '
                         f'(colour+alpha) channels, got {channels} (shape {tuple(data.shape)}, '
                         f'input_order={input_order!r})')
    if data.size and not np.all(np.isfinite(data)):
        raise ValueError(f'{name} contains NaN or infinite values')
    if np.issubdtype(data.dtype, np.floating) and data.size and 0 < data.max() <= 1.0 \
            and data.min() >= 0:
        raise ValueError(f'{name} holds floats in [0, 1]; the metrics take images in [0, 255] '
                         '(multiply by 255)')

    data = quantize_uint8(data)
    if channels in (1, 2):
        plane = data[..., 0]
    else:
        colour = data[..., :3]
        if channel_order == 'bgr':
            colour = colour[..., ::-1]
        r, g, b = colour[..., 0], colour[..., 1], colour[..., 2]
        if convert_to == 'gray':
            lum = GRAY_COEFFS[0] * r + GRAY_COEFFS[1] * g + GRAY_COEFFS[2] * b
        else:
            lum = Y_OFFSET + Y_COEFFS[0] * r + Y_COEFFS[1] * g + Y_COEFFS[2] * b
        plane = quantize_uint8(lum)

    if crop_border:
        plane = plane[crop_border:plane.shape[0] - crop_border,
                      crop_border:plane.shape[1] - crop_border]
    if min_size is not None:
        min_h, min_w = min_size
        if plane.shape[0] < min_h or plane.shape[1] < min_w:
            raise ValueError(
                f'{name} is too small for {metric_name}: {plane.shape[0]}x{plane.shape[1]} after '
                f'crop_border={crop_border}, the minimum is {min_h}x{min_w}')
    return np.ascontiguousarray(plane)
