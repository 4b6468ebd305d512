"""NIQE agrees with the official MATLAB release, with MMagic where both follow it, fails clearly."""
import cv2
import numpy as np
import pytest
import torch
from mmagic.datasets.transforms import MATLABLikeResize
from mmagic.evaluation.metrics.niqe import niqe as mmagic_niqe

from conftest import calibration_image, distorted
from realbasicvsr_plugin.evaluation import UndefinedScoreError, niqe
from realbasicvsr_plugin.evaluation.metrics.matlab_resize import matlab_imresize
from realbasicvsr_plugin.evaluation.metrics.natural_scene_statistics import (
    gaussian_window, gaussian_window_1d, matlab_colon, mscn_coefficients)
from realbasicvsr_plugin.evaluation.metrics.niqe import load_niqe_pristine_params

# Official scores of the LIVE MATLAB release (tests/data/README.md).
OFFICIAL_NIQE = {'I03': 15.7536, 'I04': 3.6549}


#: the precision claimed in README.md and docs/evaluation.md (I03: 0.0056, I04: 0.0000)
NIQE_PRECISION = 0.006


@pytest.mark.parametrize('name', sorted(OFFICIAL_NIQE))
def test_matches_the_official_matlab_release(name):
    score = niqe(calibration_image(name), crop_border=0)
    assert abs(score - OFFICIAL_NIQE[name]) <= NIQE_PRECISION


def test_closer_to_the_release_than_mmagic_on_the_gray_image():
    # MMagic converts with OpenCV's gray coefficients on a float32 image: 0.09 off on I03.
    img = calibration_image('I03')
    ours = abs(niqe(img, 0, convert_to='gray') - OFFICIAL_NIQE['I03'])
    theirs = abs(float(mmagic_niqe(img, 0, convert_to='gray')) - OFFICIAL_NIQE['I03'])
    assert ours <= NIQE_PRECISION < 0.09 < theirs


@pytest.mark.parametrize('name,rows,cols', [('I04', slice(None), slice(None)),
                                            ('I03', slice(None), slice(None)),
                                            ('I04', slice(0, 192), slice(17, 401))])
def test_agrees_with_mmagic_on_the_y_channel(name, rows, cols):
    # On Y both follow MATLAB's rgb2ycbcr and the release's algorithm (MMagic in float32).
    img = np.ascontiguousarray(calibration_image(name)[rows, cols])
    assert niqe(img, 0, convert_to='y') == pytest.approx(
        float(mmagic_niqe(img, 0, convert_to='y')), abs=5e-3)


def mmagic_params_file():
    import importlib.util
    import os.path as osp
    spec = importlib.util.find_spec('mmagic')
    return osp.join(list(spec.submodule_search_locations)[0], 'evaluation', 'metrics',
                    'niqe_pris_params.npz')


def test_uses_mmagics_copy_of_the_pristine_model():
    params = load_niqe_pristine_params()
    data = np.load(mmagic_params_file())
    np.testing.assert_array_equal(params['mu'], data['mu_pris_param'].ravel())
    np.testing.assert_array_equal(params['cov'], data['cov_pris_param'])


def test_flat_windows_have_exactly_zero_mscn_coefficients():
    img = np.random.default_rng(0).integers(0, 256, (40, 40)).astype(np.float64)
    img[10:30, 10:30] = 60.0
    mscn = mscn_coefficients(img, gaussian_window_1d())
    assert np.all(mscn[13:27, 13:27] == 0)  # every 7x7 window inside the patch is constant
    assert np.count_nonzero(mscn[:8]) > 0.9 * mscn[:8].size
    # without the rule the patch is zero only to float precision (a residue of either sign)
    residue = mscn_coefficients(img, gaussian_window_1d(), exact_flat=False)[13:27, 13:27]
    assert np.abs(residue).max() < 1e-9


def test_gaussian_window_is_matlab_fspecial_as_in_the_pristine_file():
    np.testing.assert_allclose(gaussian_window(7, 7 / 6),
                               np.load(mmagic_params_file())['gaussian_window'], atol=1e-15)


def test_matlab_colon_grid_has_matlab_length_and_end_points():
    grid = matlab_colon(0.2, 0.001, 10)
    assert grid.shape == (9801, ) and grid[0] == 0.2 and grid[-1] == 10.0
    assert np.all(np.diff(grid) > 0)


@pytest.mark.parametrize('shape,scale', [((384, 480), 0.5), ((191, 97), 0.5), ((60, 80), 2.0),
                                         ((33, 47), 0.25)])
def test_resize_agrees_with_mmagics_matlab_like_resize(shape, scale):
    img = np.random.default_rng(0).random(shape) * 255
    theirs = MATLABLikeResize(keys=None, scale=scale)._resize(img[..., None] / 255.)[..., 0]
    ours = matlab_imresize(img, scale)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs * 255., atol=1e-3)  # MMagic resizes in float32


def test_resize_keeps_constant_images_constant():
    out = matlab_imresize(np.full((37, 53), 77.0), 0.5)
    assert out.shape == (19, 27)
    np.testing.assert_allclose(out, 77.0, atol=1e-12)


@pytest.mark.parametrize('distortion', ['blur', 'noise'])
def test_distortion_raises_niqe(distortion):
    img = calibration_image('I04')
    assert niqe(distorted(img, distortion), 0) > niqe(img, 0) + 1.0


def test_layouts_dtypes_and_channel_orders_give_one_score():
    bgr = calibration_image('I04')[:192, :288]
    ref = niqe(bgr, 0)
    assert niqe(bgr.transpose(2, 0, 1), 0, input_order='CHW') == ref
    assert niqe(bgr[..., ::-1].copy(), 0, channel_order='rgb') == ref
    assert niqe(bgr.astype(np.float32), 0) == ref
    assert niqe(torch.from_numpy(bgr.transpose(2, 0, 1).copy()).float(), 0,
                input_order='CHW') == ref


def test_crop_border_scores_the_inner_image():
    img = calibration_image('I04')
    assert niqe(img, crop_border=8) == niqe(img[8:-8, 8:-8], crop_border=0)


def test_gray_input_is_its_own_luminance():
    gray = cv2.cvtColor(calibration_image('I04'), cv2.COLOR_BGR2GRAY)
    score = niqe(gray, 0, input_order='HW')
    assert niqe(gray[..., None], 0) == score  # (h, w, 1)
    assert niqe(np.stack([gray] * 3, -1), 0) == pytest.approx(score, abs=1e-9)


def test_rgba_drops_alpha():
    bgr = calibration_image('I04')[:192, :192]
    bgra = np.concatenate([bgr, np.full(bgr.shape[:2] + (1, ), 7, np.uint8)], axis=-1)
    assert niqe(bgra, 0) == niqe(bgr, 0)


def test_flat_areas_are_scored_and_a_flat_image_is_undefined():
    img = calibration_image('I04')[:192, :384].copy()
    img[:96, :96] = 60  # one flat block: its statistics are NaN and left out, as in MATLAB
    assert np.isfinite(niqe(img, 0))
    with pytest.raises(UndefinedScoreError, match='undefined'):
        niqe(np.full((192, 192, 3), 128, np.uint8), 0)


@pytest.mark.parametrize('shape,match', [((95, 300, 3), 'too small for NIQE'),
                                         ((96, 150, 3), 'at least 2')])
def test_too_small_images_get_a_clear_error(shape, match):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        niqe(img, 0)


@pytest.mark.parametrize('img,kwargs,error,match', [
    (np.zeros((200, 200, 5)), {}, ValueError, '5'),
    (np.full((200, 200, 3), np.nan), {}, ValueError, 'NaN'),
    (np.random.default_rng(0).random((200, 200, 3)), {}, ValueError, r'\[0, 255\]'),
    (np.zeros((200, 200, 3)), {'convert_to': 'lab'}, ValueError, 'convert_to'),
    (np.zeros((200, 200, 3)), {'input_order': 'WHC'}, ValueError, 'input_order'),
    ([[1, 2], [3, 4]], {}, TypeError, 'numpy array'),
    (np.zeros((200, 200, 3)), {'crop_border': -1}, ValueError, 'crop_border'),
])
def test_bad_input_gets_a_specific_error(img, kwargs, error, match):
    with pytest.raises(error, match=match):
        niqe(img, **{'crop_border': 0, **kwargs})
