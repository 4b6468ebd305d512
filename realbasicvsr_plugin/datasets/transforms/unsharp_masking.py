"""Unsharp masking of a clip (the sharpened GT of RealBasicVSR), with a separable Gaussian."""
import numbers
from typing import Any, Dict, List

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from realbasicvsr_plugin.registry import TRANSFORMS
from .clip_frames import as_clip, check_frames, unstack_frames
from .degradation_params import check_keys


def _gaussian_blur(clip: np.ndarray, kernel_size: int, sigma: float) -> np.ndarray:
    """Blur every frame of a float32 clip with a separable Gaussian (reflect-101 border)."""
    out = np.empty_like(clip)
    for i, frame in enumerate(clip):
        out[i] = cv2.GaussianBlur(frame, (kernel_size, kernel_size), sigma).reshape(frame.shape)
    return out


@TRANSFORMS.register_module()
class UnsharpMasking(BaseTransform):
    """Sharpen a clip by unsharp masking; the result goes to ``<key>_unsharp``.

    The same operation as MMagic's ``UnsharpMasking`` (same arguments, same output to float
    rounding): ``residue = x - G * x``, ``mask = |residue| > threshold``, softened by ``G``;
    ``out = soft * clip(x + weight * residue, 0, 255) + (1 - soft) * x``. Two things make it
    faster. MMagic convolves with the full ``kernel_size x kernel_size`` Gaussian (2601 taps for
    51); the Gaussian is separable, so this applies it as two 1-D passes (``cv2.GaussianBlur``, the
    kernel of ``cv2.getGaussianKernel``). And a clip extended by ``MirrorSequence`` holds each
    frame array twice: each distinct array is sharpened once (the output frames are still
    distinct arrays).

    Args:
        kernel_size (int): Odd side of the Gaussian kernel.
        sigma (float): Its standard deviation; 0 derives it from ``kernel_size`` as OpenCV does.
        weight (float): The weight of the details added back.
        threshold (float): Residues above this (on the 0-255 scale) count as details.
        keys (list[str]): The results keys to sharpen.
    """

    def __init__(self, kernel_size: int, sigma: float, weight: float, threshold: float,
                 keys: List[str]) -> None:
        name = type(self).__name__
        if (not isinstance(kernel_size, (int, np.integer)) or isinstance(kernel_size, bool)
                or kernel_size < 1 or kernel_size % 2 == 0):
            raise ValueError(f'{name}: kernel_size must be an odd positive integer, '
                             f'got {kernel_size!r}')
        for arg, value in (('sigma', sigma), ('threshold', threshold)):
            if not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f'{name}: {arg} must be a number >= 0, got {value!r}')
        if not isinstance(weight, numbers.Real):
            raise ValueError(f'{name}: weight must be a number, got {weight!r}')
        self.kernel_size = int(kernel_size)
        self.sigma = float(sigma)
        self.weight = float(weight)
        self.threshold = float(threshold)
        self.keys = check_keys(keys, name)

    def sharpen(self, clip: np.ndarray) -> np.ndarray:
        """Unsharp-mask a clip.

        Args:
            clip (np.ndarray): ``T x H x W x C`` frames on the 0-255 scale.

        Returns:
            np.ndarray: The sharpened float32 frames.
        """
        frames = clip.astype(np.float32, copy=False)
        residue = frames - _gaussian_blur(frames, self.kernel_size, self.sigma)
        mask = (np.abs(residue) > self.threshold).astype(np.float32)
        soft_mask = _gaussian_blur(mask, self.kernel_size, self.sigma)
        residue *= self.weight
        residue += frames
        sharpened = np.clip(residue, 0, 255, out=residue)
        sharpened -= frames
        sharpened *= soft_mask
        sharpened += frames
        return sharpened

    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Add ``<key>_unsharp`` for each key.

        Args:
            results (dict): The pipeline's results.

        Returns:
            dict: ``results`` with the sharpened frames added.
        """
        for key in self.keys:
            if key not in results:
                raise KeyError(f'{type(self).__name__}: results has no key {key!r}')
            frames, single, gray = check_frames(results[key], key, type(self).__name__)
            # a mirrored clip holds every frame twice (the same array): sharpen each array once
            originals = [results[key]] if single else results[key]
            position: Dict[int, int] = {}
            unique, index = [], []
            for original, frame in zip(originals, frames):
                if id(original) not in position:
                    position[id(original)] = len(unique)
                    unique.append(frame)
                index.append(position[id(original)])
            if len(unique) < len(frames):
                sharpened = self.sharpen(np.stack(unique))[index]
            else:
                sharpened = self.sharpen(as_clip(frames))
            results[f'{key}_unsharp'] = unstack_frames(sharpened, single, gray)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys}, kernel_size={self.kernel_size}, '
                f'sigma={self.sigma}, weight={self.weight}, threshold={self.threshold})')
