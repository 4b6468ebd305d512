"""NIQE (Mittal, Soundararajan and Bovik, "Making a 'Completely Blind' Image Quality Analyzer").

Faithful to the LIVE MATLAB release (``niqe_release.zip``: ``computequality.m``,
``computefeature.m``, ``estimateaggdparam.m``) with its pristine model (``modelparameters.mat``),
whose parameters MMagic 1.2.0 ships as ``mmagic/evaluation/metrics/niqe_pris_params.npz``; they
are read from the installed MMagic.

Where this differs from MMagic's ``niqe`` (0.09 off the release on the colour test image I03):

* the gray image is MATLAB's ``rgb2gray`` of the 8-bit image (coefficients 0.2989/0.5870/0.1140,
  rounded), where MMagic uses OpenCV's 0.299/0.587/0.114 on a float32 image: nearly all of the
  0.09;
* MSCN coefficients of flat windows are exactly 0 (see :func:`mscn_coefficients`), and
  everything is computed in float64;
* fewer than two usable blocks is an error, not a NaN; the per-block work is vectorised.

The half-scale image is MATLAB's ``imresize(im, 0.5)`` (:mod:`.matlab_resize`), which MMagic's
``MATLABLikeResize`` also reproduces. See ``docs/evaluation.md`` for the measured effect of each.
"""
import importlib.util
import os
import os.path as osp
from functools import lru_cache
from typing import Any, Dict, Optional

import numpy as np
from scipy.special import gamma

from realbasicvsr_plugin.registry import METRICS
from .luminance import to_luminance
from .matlab_resize import matlab_imresize
from .natural_scene_statistics import (UndefinedScoreError, fit_aggd, gaussian_window_1d,
                                       mscn_coefficients)
from .no_reference_metric import NoReferenceVideoMetric

__all__ = ['niqe', 'niqe_features', 'niqe_quality', 'load_niqe_pristine_params', 'NIQE',
           'NIQE_BLOCK_SIZE']

NIQE_BLOCK_SIZE = 96
#: shifts of the paired products in computefeature.m (rows, columns), as circshift takes them
_NIQE_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
_PARAMS_ENV = 'REALBASICVSR_PLUGIN_NIQE_PARAMS'


def _mmagic_params_path() -> str:
    spec = importlib.util.find_spec('mmagic')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            'NIQE needs the pristine model parameters that MMagic ships '
            '(mmagic/evaluation/metrics/niqe_pris_params.npz), but mmagic is not installed; '
            f'install mmagic==1.2.0 or point {_PARAMS_ENV} at a copy of the file')
    return osp.join(list(spec.submodule_search_locations)[0], 'evaluation', 'metrics',
                    'niqe_pris_params.npz')


@lru_cache(maxsize=4)
def _load_params(path: str) -> Dict[str, np.ndarray]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'NIQE pristine parameters not found at {path}')
    with np.load(path) as data:
        missing = {'mu_pris_param', 'cov_pris_param'} - set(data.files)
        if missing:
            raise ValueError(f'{path} is not a NIQE parameter file: it lacks {sorted(missing)}')
        mu = np.asarray(data['mu_pris_param'], dtype=np.float64).reshape(-1)
        cov = np.asarray(data['cov_pris_param'], dtype=np.float64)
    if mu.shape != (36, ) or cov.shape != (36, 36):
        raise ValueError(f'{path}: expected a 36-dim mean and a 36x36 covariance, got '
                         f'{mu.shape} and {cov.shape}')
    mu.setflags(write=False)
    cov.setflags(write=False)
    return {'mu': mu, 'cov': cov}


def load_niqe_pristine_params(path: Optional[str] = None) -> Dict[str, np.ndarray]:
    """The pristine multivariate Gaussian of the official NIQE model.

    Args:
        path (str, optional): An ``.npz`` with ``mu_pris_param`` and ``cov_pris_param``.
            Defaults to the ``REALBASICVSR_PLUGIN_NIQE_PARAMS`` environment variable, else the
            file installed with MMagic.

    Returns:
        dict[str, np.ndarray]: ``{'mu': (36,), 'cov': (36, 36)}`` float64, read-only.
    """
    path = path or os.environ.get(_PARAMS_ENV) or _mmagic_params_path()
    return _load_params(osp.abspath(path))


def _blocks(arr: np.ndarray, bh: int, bw: int) -> np.ndarray:
    h, w = arr.shape
    return arr.reshape(h // bh, bh, w // bw, bw).transpose(0, 2, 1, 3).reshape(-1, bh, bw)


def _aggd_scales(alpha: np.ndarray, left: np.ndarray, right: np.ndarray):
    factor = np.sqrt(gamma(1.0 / alpha) / gamma(3.0 / alpha))
    return left * factor, right * factor


def _scale_features(mscn: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """The 18 features of computefeature.m for every block of one scale, ``(n_blocks, 18)``."""
    blocks = _blocks(mscn, bh, bw)
    n = blocks.shape[0]
    alpha, left, right = fit_aggd(blocks.reshape(n, -1))
    beta_l, beta_r = _aggd_scales(alpha, left, right)
    feats = [alpha, (beta_l + beta_r) / 2.0]
    for shift in _NIQE_SHIFTS:
        # circshift inside each block, as blkproc hands every block to computefeature alone
        pair = blocks * np.roll(blocks, shift, axis=(1, 2))
        alpha, left, right = fit_aggd(pair.reshape(n, -1))
        beta_l, beta_r = _aggd_scales(alpha, left, right)
        mean = (beta_r - beta_l) * (gamma(2.0 / alpha) / gamma(1.0 / alpha))
        feats.extend([alpha, mean, beta_l, beta_r])
    return np.stack(feats, axis=1)


def niqe_features(plane: np.ndarray,
                  block_size: int = NIQE_BLOCK_SIZE,
                  exact_flat: bool = True) -> np.ndarray:
    """Per-block NIQE features of a luminance plane (two scales, 36 per block).

    Args:
        plane (np.ndarray): ``(h, w)`` luminance in [0, 255], at least one block in size.
        block_size (int): Side of the square blocks at full scale (even). Defaults to 96.
        exact_flat (bool): MSCN coefficients of flat windows exactly 0, see
            :func:`mscn_coefficients`. Defaults to True.

    Returns:
        np.ndarray: ``(n_blocks, 36)`` float64; rows of blocks whose statistics are undefined
        contain NaN, as in the MATLAB release.
    """
    if block_size < 2 or block_size % 2:
        raise ValueError(f'block_size must be an even number >= 2, got {block_size}')
    h, w = plane.shape
    nh, nw = h // block_size, w // block_size
    if nh * nw == 0:
        raise ValueError(f'NIQE needs at least one {block_size}x{block_size} block, got a '
                         f'{h}x{w} image')
    img = np.asarray(plane, dtype=np.float64)[:nh * block_size, :nw * block_size]
    window = gaussian_window_1d(7, 7.0 / 6.0)
    per_scale = []
    for scale in (1, 2):
        mscn = mscn_coefficients(img, window, padding='replicate', exact_flat=exact_flat)
        size = block_size // scale
        per_scale.append(_scale_features(mscn, size, size))
        if scale == 1:
            img = matlab_imresize(img, 0.5)
    return np.concatenate(per_scale, axis=1)


def niqe_quality(features: np.ndarray, mu_pris: np.ndarray, cov_pris: np.ndarray) -> float:
    """Distance between the distorted and pristine Gaussians (Eq. 10 of the paper).

    Args:
        features (np.ndarray): ``(n_blocks, 36)`` block features, NaN rows allowed.
        mu_pris (np.ndarray): ``(36,)`` pristine mean.
        cov_pris (np.ndarray): ``(36, 36)`` pristine covariance.

    Returns:
        float: The NIQE score (lower is better).
    """
    valid = features[~np.isnan(features).any(axis=1)]
    if valid.shape[0] < 2:
        raise UndefinedScoreError(
            f'NIQE is undefined: only {valid.shape[0]} of {features.shape[0]} blocks have '
            'defined statistics (at least 2 are needed; flat, textureless blocks have none)')
    with np.errstate(invalid='ignore'):
        mu_dist = np.nanmean(features, axis=0)  # MATLAB nanmean: per column, NaNs ignored
    cov_dist = np.cov(valid, rowvar=False)      # MATLAB nancov: rows with a NaN removed
    pooled = (cov_pris + cov_dist) / 2.0
    # MATLAB pinv's default tolerance: max(size(A)) * norm(A) * eps
    inv = np.linalg.pinv(pooled, rcond=max(pooled.shape) * np.finfo(np.float64).eps)
    diff = mu_pris - mu_dist
    quality = float(np.sqrt(diff @ inv @ diff))
    if not np.isfinite(quality):
        raise UndefinedScoreError('NIQE is undefined for this image (non-finite distance)')
    return quality


def niqe(img: Any,
         crop_border: int = 0,
         input_order: str = 'HWC',
         convert_to: str = 'gray',
         channel_order: str = 'bgr',
         block_size: int = NIQE_BLOCK_SIZE,
         params_path: Optional[str] = None) -> float:
    """NIQE of one image, as the official MATLAB release computes it.

    Same call as MMagic's ``mmagic.evaluation.metrics.niqe.niqe`` (``img`` in [0, 255], BGR),
    but with ``convert_to='gray'`` by default, as the official release.

    Args:
        img (np.ndarray | torch.Tensor): Image in [0, 255].
        crop_border (int): Pixels removed from each edge. Defaults to 0.
        input_order (str): ``'HWC'``, ``'CHW'`` or ``'HW'``. Defaults to 'HWC'.
        convert_to (str): ``'gray'`` (MATLAB ``rgb2gray``) or ``'y'`` (Y of ``rgb2ycbcr``).
            Defaults to 'gray'.
        channel_order (str): ``'bgr'`` or ``'rgb'``. Defaults to 'bgr'.
        block_size (int): Block side; 96 is the official model's. Defaults to 96.
        params_path (str, optional): Pristine parameters, see
            :func:`load_niqe_pristine_params`. Defaults to None.

    Returns:
        float: The NIQE score (lower is better).
    """
    plane = to_luminance(img, crop_border, input_order, convert_to, channel_order,
                         min_size=(block_size, block_size), metric_name='NIQE')
    blocks = (plane.shape[0] // block_size) * (plane.shape[1] // block_size)
    if blocks < 2:
        raise ValueError(
            f'image is too small for NIQE: {plane.shape[0]}x{plane.shape[1]} after '
            f'crop_border={crop_border} holds {blocks} block of {block_size}x{block_size}; '
            f'at least 2 are needed (e.g. {block_size}x{2 * block_size})')
    params = load_niqe_pristine_params(params_path)
    return niqe_quality(niqe_features(plane, block_size), params['mu'], params['cov'])


@METRICS.register_module()
class NIQE(NoReferenceVideoMetric):
    """NIQE for MMagic's evaluators, on images and videos (per frame, per video, data set).

    Args:
        block_size (int): Block side; 96 is the official model's. Defaults to 96.
        params_path (str, optional): Pristine parameters file. Defaults to MMagic's.
        **kwargs: See :class:`NoReferenceVideoMetric` (``crop_border``, ``convert_to``,
            ``frames``, ``input_order``, ``channel_order``, ``skip_undefined``, ...).

    Metrics:
        - NIQE (float): mean over videos of the per-video mean NIQE (lower is better).
    """

    metric = 'NIQE'
    score_image = staticmethod(niqe)

    def __init__(self,
                 block_size: int = NIQE_BLOCK_SIZE,
                 params_path: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.block_size = block_size
        self.params_path = params_path
        load_niqe_pristine_params(params_path)  # fail at build time, not after inference

    def score_options(self) -> dict:
        """The block size and the pristine parameters, for :func:`niqe`."""
        return dict(block_size=self.block_size, params_path=self.params_path)
