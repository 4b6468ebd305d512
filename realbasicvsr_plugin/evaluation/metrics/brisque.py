"""BRISQUE (Mittal, Moorthy, Bovik: "No-Reference Image Quality Assessment in the Spatial Domain").

Faithful to the LIVE MATLAB release (``BRISQUE_release.zip``: ``brisquescore.m``,
``brisque_feature.m``, ``estimateggdparam.m``, ``estimateaggdparam.m``) and its model trained on
the whole LIVE database (``allmodel``, an epsilon-SVR, and ``allrange``, the feature ranges).

Features, at two scales (the second ``imresize(im, 0.5)`` of the first), 18 per scale:

* GGD shape and variance of the MSCN coefficients (``filter2`` with zero padding, with MATLAB's
  arithmetic: :func:`~.natural_scene_statistics.mscn_filter2`);
* for the products with the neighbour at shifts (0, 1), (1, 0), (1, 1), (-1, 1) (``circshift``
  of the whole image): AGGD shape, mean, left and right variances.

The model files are not shipped with the package: they are obtained at run time (see
:func:`brisque_model_files`) from a local folder, the cache, or a download, verified by SHA-256.
"""
import os
from functools import lru_cache, partial
from typing import Any, Optional, Tuple

import numpy as np
from scipy.special import gamma

from realbasicvsr_plugin.registry import METRICS
from .libsvm_regressor import LibSVMRegressor
from .luminance import to_luminance
from .matlab_resize import matlab_imresize
from .model_files import ModelFile, fetch_model_file
from .natural_scene_statistics import UndefinedScoreError, fit_aggd, fit_ggd, mscn_filter2
from .no_reference_metric import NoReferenceVideoMetric

__all__ = ['brisque', 'brisque_features', 'brisque_model_files', 'load_brisque_model',
           'BRISQUE', 'BRISQUE_MODEL', 'BRISQUE_RANGE', 'BRISQUE_MIN_SIZE']

#: shifts of the paired products in brisque_feature.m (rows, columns), as circshift takes them
_BRISQUE_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
#: smallest image: its half-scale image must still cover the 7x7 Gaussian window
BRISQUE_MIN_SIZE = (14, 14)

BRISQUE_DIR_ENV = 'REALBASICVSR_PLUGIN_BRISQUE_DIR'
BRISQUE_URL_ENV = 'REALBASICVSR_PLUGIN_BRISQUE_URL'
#: A public copy of the LIVE release's model files (the +brisque folder of
#: gregfreeman/image_quality_toolbox). The official release itself is only a zip archive.
BRISQUE_BASE_URL = ('https://raw.githubusercontent.com/gregfreeman/image_quality_toolbox/'
                    'master/+brisque/')
_HELP = (
    'BRISQUE needs the official model files "allmodel" and "allrange" of the LIVE release '
    '(http://live.ece.utexas.edu/research/quality/BRISQUE_release.zip). Put both in a folder and '
    f'pass model_dir=<folder> or set {BRISQUE_DIR_ENV}=<folder>, or point {BRISQUE_URL_ENV} at a '
    'URL folder that serves them, or copy them into the cache folder '
    '(~/.cache/realbasicvsr_plugin/brisque/, or $REALBASICVSR_PLUGIN_CACHE/brisque/).')
# the two files of the release: same download folder, cache group and help
_release_file = partial(ModelFile, base_url=BRISQUE_BASE_URL, group='brisque', help=_HELP)
BRISQUE_MODEL = _release_file(
    'allmodel', sha256='f95f47571d61a4c6cfcbdad92b37651c029880091b2b9fe6d7d523b1cfbb4dbe')
BRISQUE_RANGE = _release_file(
    'allrange', sha256='d4a3fbb5fc4a2ec539e7afd5188b36155affe1b18ac3556c505a141d1cc1d62b')


def brisque_model_files(model_dir: Optional[str] = None,
                        cache_dir: Optional[str] = None,
                        base_url: Optional[str] = None,
                        check_hash: bool = True,
                        download: bool = True) -> Tuple[str, str]:
    """Local, verified paths of ``allmodel`` and ``allrange``.

    Args:
        model_dir (str, optional): Folder holding both files; defaults to
            ``$REALBASICVSR_PLUGIN_BRISQUE_DIR``. When set, nothing is downloaded.
        cache_dir (str, optional): Cache root. Defaults to ``~/.cache/realbasicvsr_plugin``.
        base_url (str, optional): Download folder URL. Defaults to
            ``$REALBASICVSR_PLUGIN_BRISQUE_URL``, else :data:`BRISQUE_BASE_URL`.
        check_hash (bool): Verify the official SHA-256 of each file. Defaults to True.
        download (bool): Allow downloading into the cache. Defaults to True.

    Returns:
        tuple[str, str]: Paths of ``allmodel`` and ``allrange``.
    """
    kwargs = dict(local_dir=model_dir, local_dir_env=BRISQUE_DIR_ENV, cache_dir=cache_dir,
                  base_url=base_url, base_url_env=BRISQUE_URL_ENV, check_hash=check_hash,
                  download=download)
    return (fetch_model_file(BRISQUE_MODEL, **kwargs), fetch_model_file(BRISQUE_RANGE, **kwargs))


@lru_cache(maxsize=4)
def _regressor(model_path: str, range_path: str, emulate_text_io: bool) -> LibSVMRegressor:
    return LibSVMRegressor(model_path, range_path, dim=36, emulate_text_io=emulate_text_io)


def load_brisque_model(model_dir: Optional[str] = None,
                       emulate_text_io: bool = True,
                       **kwargs) -> LibSVMRegressor:
    """The official BRISQUE regressor (loaded once per pair of files).

    Args:
        model_dir (str, optional): Folder with ``allmodel`` and ``allrange``, see
            :func:`brisque_model_files`.
        emulate_text_io (bool): Round the features as the release's text files do.
            Defaults to True.
        **kwargs: ``cache_dir``, ``base_url``, ``check_hash``, ``download`` of
            :func:`brisque_model_files`.

    Returns:
        LibSVMRegressor: The regressor.
    """
    model_path, range_path = brisque_model_files(model_dir, **kwargs)
    return _regressor(os.path.abspath(model_path), os.path.abspath(range_path),
                      emulate_text_io)


def brisque_features(plane: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a luminance plane.

    Args:
        plane (np.ndarray): ``(h, w)`` luminance in [0, 255], at least 14x14.

    Returns:
        np.ndarray: ``(36,)`` float64 features.
    """
    img = np.asarray(plane, dtype=np.float64)
    feats = []
    for scale in (1, 2):
        mscn = mscn_filter2(img)
        alpha, sigma = fit_ggd(mscn.reshape(1, -1))
        feats.extend([alpha[0], sigma[0]**2])
        for shift in _BRISQUE_SHIFTS:
            pair = mscn * np.roll(mscn, shift, axis=(0, 1))
            alpha, left, right = fit_aggd(pair.reshape(1, -1))
            a, left, right = alpha[0], left[0], right[0]
            const = np.sqrt(gamma(1.0 / a)) / np.sqrt(gamma(3.0 / a))
            mean = (right - left) * (gamma(2.0 / a) / gamma(1.0 / a)) * const
            feats.extend([a, mean, left**2, right**2])
        if scale == 1:
            img = matlab_imresize(img, 0.5)
    return np.asarray(feats, dtype=np.float64)


def brisque(img: Any,
            crop_border: int = 0,
            input_order: str = 'HWC',
            convert_to: str = 'gray',
            channel_order: str = 'bgr',
            model: Optional[LibSVMRegressor] = None,
            model_dir: Optional[str] = None) -> float:
    """BRISQUE of one image, as the official MATLAB release computes it.

    Args:
        img (np.ndarray | torch.Tensor): Image in [0, 255].
        crop_border (int): Pixels removed from each edge. Defaults to 0.
        input_order (str): ``'HWC'``, ``'CHW'`` or ``'HW'``. Defaults to 'HWC'.
        convert_to (str): ``'gray'`` (MATLAB ``rgb2gray``, the release) or ``'y'``.
            Defaults to 'gray'.
        channel_order (str): ``'bgr'`` or ``'rgb'``. Defaults to 'bgr'.
        model (LibSVMRegressor, optional): A loaded regressor; defaults to
            :func:`load_brisque_model` with ``model_dir``.
        model_dir (str, optional): Folder with the model files. Defaults to None.

    Returns:
        float: The BRISQUE score (lower is better; about 0-100 on the LIVE database).
    """
    plane = to_luminance(img, crop_border, input_order, convert_to, channel_order,
                         min_size=BRISQUE_MIN_SIZE, metric_name='BRISQUE')
    features = brisque_features(plane)
    if not np.all(np.isfinite(features)):
        raise UndefinedScoreError(
            'BRISQUE is undefined for this image: its MSCN statistics are degenerate (a flat or '
            'nearly flat image has no negative or no positive coefficients)')
    regressor = model if model is not None else load_brisque_model(model_dir)
    return regressor.predict(features)


@METRICS.register_module()
class BRISQUE(NoReferenceVideoMetric):
    """BRISQUE for MMagic's evaluators, on images and videos (per frame, per video, data set).

    The model files are obtained when the metric is built (so a missing file is reported before
    any inference runs).

    Args:
        model_dir (str, optional): Folder with ``allmodel`` and ``allrange``. Defaults to
            ``$REALBASICVSR_PLUGIN_BRISQUE_DIR``, else the cache / a download.
        cache_dir (str, optional): Cache root. Defaults to ``~/.cache/realbasicvsr_plugin``.
        base_url (str, optional): Download folder URL. Defaults to the public copy.
        emulate_text_io (bool): Round the features as the release's text files do.
            Defaults to True.
        **kwargs: See :class:`NoReferenceVideoMetric` (``crop_border``, ``convert_to``,
            ``frames``, ``input_order``, ``channel_order``, ``skip_undefined``, ...).

    Metrics:
        - BRISQUE (float): mean over videos of the per-video mean BRISQUE (lower is better).
    """

    metric = 'BRISQUE'
    score_image = staticmethod(brisque)

    def __init__(self,
                 model_dir: Optional[str] = None,
                 cache_dir: Optional[str] = None,
                 base_url: Optional[str] = None,
                 emulate_text_io: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.regressor = load_brisque_model(
            model_dir, emulate_text_io=emulate_text_io, cache_dir=cache_dir, base_url=base_url)

    def score_options(self) -> dict:
        """The loaded model, for :func:`brisque`."""
        return dict(model=self.regressor)
