"""BRISQUE: the official model fetched at run time (download, SHA-256, cache) scores as released."""
import shutil
import socket

import numpy as np
import pytest

from conftest import calibration_image, distorted
from realbasicvsr_plugin.evaluation import (BRISQUE_MODEL, BRISQUE_RANGE, ChecksumError,
                                            LibSVMRegressor, ModelFileUnavailableError,
                                            UndefinedScoreError, brisque, brisque_model_files,
                                            load_brisque_model)
from realbasicvsr_plugin.evaluation.metrics.natural_scene_statistics import (
    FILTER2_HCOL, FILTER2_HROW, filter2_same, gaussian_window_1d, matlab_gaussian_window,
    matlab_separable_factors, mscn_filter2)

# Official scores of the LIVE MATLAB release with allmodel/allrange (tests/data/README.md).
OFFICIAL_BRISQUE = {'I03': 94.6421, 'I04': -0.1076}


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch, tmp_path):
    for var in ('REALBASICVSR_PLUGIN_BRISQUE_DIR', 'REALBASICVSR_PLUGIN_BRISQUE_URL'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('REALBASICVSR_PLUGIN_CACHE', str(tmp_path / 'cache'))


def test_downloads_verifies_and_caches_the_official_model(data_dir, serve, tmp_path):
    url, requests = serve(data_dir / 'brisque')
    cache = tmp_path / 'cache'
    model, ranges = brisque_model_files(base_url=url)
    assert sorted(requests) == ['/allmodel', '/allrange']
    assert model == str(cache / 'brisque' / 'allmodel')
    assert open(model, 'rb').read() == (data_dir / 'brisque/allmodel').read_bytes()
    # a second call is served from the cache: no new request
    assert brisque_model_files(base_url=url) == (model, ranges)
    assert len(requests) == 2


#: the precision claimed in README.md and docs/evaluation.md (I03: 0.0021, I04: 0.0000)
BRISQUE_PRECISION = 0.003


@pytest.mark.parametrize('name', sorted(OFFICIAL_BRISQUE))
def test_matches_the_official_release(data_dir, serve, name):
    url, _ = serve(data_dir / 'brisque')
    model = load_brisque_model(base_url=url)
    score = brisque(calibration_image(name), 0, model=model)
    assert abs(score - OFFICIAL_BRISQUE[name]) <= BRISQUE_PRECISION


def test_a_tampered_download_is_rejected_and_not_cached(data_dir, serve, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(data_dir / 'brisque', bad)
    (bad / 'allmodel').write_bytes((bad / 'allmodel').read_bytes().replace(b'rho -153.591',
                                                                           b'rho -150.000'))
    url, _ = serve(bad)
    with pytest.raises(ChecksumError, match='SHA-256') as err:
        brisque_model_files(base_url=url)
    assert BRISQUE_MODEL.sha256 in str(err.value)
    assert not list((tmp_path / 'cache').rglob('*allmodel*'))


def test_a_damaged_cached_file_is_replaced(data_dir, serve, tmp_path):
    url, requests = serve(data_dir / 'brisque')
    model, _ = brisque_model_files(base_url=url)
    with open(model, 'ab') as f:
        f.write(b'garbage')
    again, _ = brisque_model_files(base_url=url)
    assert again == model and requests.count('/allmodel') == 2
    assert open(model, 'rb').read() == (data_dir / 'brisque/allmodel').read_bytes()


def test_when_nothing_works_the_message_says_what_to_do():
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelFileUnavailableError) as err:
        brisque_model_files(base_url=f'http://127.0.0.1:{port}/')
    message = str(err.value)
    for hint in ('BRISQUE_release.zip', 'REALBASICVSR_PLUGIN_BRISQUE_DIR', 'model_dir',
                 f'127.0.0.1:{port}/allmodel'):
        assert hint in message


def test_a_local_folder_needs_no_network(data_dir, monkeypatch, tmp_path):
    folder = data_dir / 'brisque'
    monkeypatch.setenv('REALBASICVSR_PLUGIN_BRISQUE_DIR', str(folder))
    assert brisque_model_files() == (str(folder / 'allmodel'), str(folder / 'allrange'))
    assert not (tmp_path / 'cache').exists()
    with pytest.raises(ModelFileUnavailableError, match='not in the folder'):
        brisque_model_files(model_dir=str(tmp_path))


def test_a_wrong_local_file_is_refused_unless_hash_checking_is_off(data_dir, tmp_path):
    shutil.copy(data_dir / 'brisque/allmodel', tmp_path / 'allmodel')
    (tmp_path / 'allrange').write_text('x\n-1 1\n' + ''.join(f'{i} 0 1\n' for i in range(1, 37)))
    with pytest.raises(ChecksumError, match='allrange'):
        brisque_model_files(model_dir=str(tmp_path))
    assert brisque_model_files(model_dir=str(tmp_path), check_hash=False)[1] == str(
        tmp_path / 'allrange')
    assert BRISQUE_RANGE.name == 'allrange'


def test_svr_prediction_is_libsvms_formula(tmp_path):
    # Two support vectors, hand-written: f(x) = sum_i c_i exp(-g |x - sv_i|^2) - rho, with x
    # scaled from [min, max] to [-1, 1] by svm-scale.
    (tmp_path / 'model').write_text(
        'svm_type epsilon_svr\nkernel_type rbf\ngamma 0.5\nnr_class 2\ntotal_sv 2\n'
        'rho 1.5\nSV\n2 1:0.5 2:-0.25\n-1 2:1\n')
    (tmp_path / 'range').write_text('x\n-1 1\n1 0 10\n2 -2 2\n')
    reg = LibSVMRegressor(str(tmp_path / 'model'), str(tmp_path / 'range'), dim=2)
    x = np.array([5.0, 1.0])  # scales to (0, 0.5)
    expected = 2 * np.exp(-0.5 * (0.5**2 + 0.75**2)) - np.exp(-0.5 * (0 + 0.25)) - 1.5
    assert reg.predict(x) == pytest.approx(expected, abs=1e-12)
    # the release's text round trip rounds features to 6 decimals before scaling
    assert reg.predict(x + 4e-7) == reg.predict(x)


@pytest.mark.parametrize('content,match', [('garbage\n', 'no "SV" line'),
                                           ('svm_type c_svc\nkernel_type rbf\nSV\n',
                                            'not a regression'),
                                           ('svm_type epsilon_svr\nkernel_type rbf\ngamma 1\n'
                                            'rho 0\ntotal_sv 3\nSV\n1 1:0\n', 'truncated')])
def test_a_bad_model_file_is_named(tmp_path, content, match):
    (tmp_path / 'model').write_text(content)
    (tmp_path / 'range').write_text('x\n-1 1\n1 0 1\n')
    with pytest.raises(ValueError, match=match):
        LibSVMRegressor(str(tmp_path / 'model'), str(tmp_path / 'range'), dim=1)


@pytest.fixture
def model(data_dir):
    return load_brisque_model(str(data_dir / 'brisque'))


@pytest.mark.parametrize('distortion', ['blur', 'noise'])
def test_distortion_raises_brisque(model, distortion):
    img = calibration_image('I04')
    assert brisque(distorted(img, distortion), 0, model=model) > brisque(img, 0, model=model) + 10


def test_layouts_and_channel_orders_give_one_score(model):
    bgr = calibration_image('I03')[:100, :150]
    ref = brisque(bgr, 0, model=model)
    assert brisque(bgr.transpose(2, 0, 1), 0, 'CHW', model=model) == ref
    assert brisque(bgr[..., ::-1].copy(), 0, channel_order='rgb', model=model) == ref


def test_flat_and_tiny_images_get_clear_errors(model):
    # a flat image whose residues are exactly zero (black; grey 131) has no statistics at all
    for level in (0, 131):
        with pytest.raises(UndefinedScoreError, match='flat'):
            brisque(np.full((64, 64, 3), level, np.uint8), 0, model=model)
    # other grey levels keep filter2's residue, so MATLAB (and the plugin) get a number
    assert np.isfinite(brisque(np.full((64, 64, 3), 200, np.uint8), 0, model=model))
    with pytest.raises(ValueError, match='too small for BRISQUE'):
        brisque(np.zeros((13, 64, 3), np.uint8), 0, model=model)


# ------------------------------------------------------------- filter2's arithmetic (issue 15)
def conv2_reference(x, hcol, hrow):
    """conv2(hcol, hrow, x, 'same') written out sample by sample in plain Python floats: each
    column convolved with hcol, then each row with hrow, every sum in tap order, zeros outside."""
    h, w = x.shape
    c = len(hcol) // 2
    cols = [[0.0] * w for _ in range(h)]
    for i in range(h):
        for j in range(w):
            acc = None
            for k in range(len(hcol)):
                r = i + c - k
                term = hcol[k] * (float(x[r, j]) if 0 <= r < h else 0.0)
                acc = term if acc is None else acc + term
            cols[i][j] = acc
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            acc = None
            for k in range(len(hrow)):
                q = j + c - k
                term = hrow[k] * (cols[i][q] if 0 <= q < w else 0.0)
                acc = term if acc is None else acc + term
            out[i, j] = acc
    return out


def test_filter2_factors_are_the_svd_factors_of_matlabs_window():
    window = matlab_gaussian_window()
    assert window[3, 3] == window.max() and window.shape == (7, 7)
    # MATLAB's window (2-D exp, normalised twice) is not the outer product of the 1-D Gaussian
    assert not np.array_equal(window, np.outer(gaussian_window_1d(), gaussian_window_1d()))
    hcol, hrow = matlab_separable_factors(np.rot90(window, 2))
    # the stored constants are MKL's dgesvd factors; LAPACK builds differ in the last digits
    # (MKL and two OpenBLAS builds: up to ~120 ulps on the outer taps), which is why the plugin
    # fixes them instead of calling svd at run time
    np.testing.assert_allclose(hcol, FILTER2_HCOL, rtol=1e-13, atol=0)
    np.testing.assert_allclose(hrow, FILTER2_HROW, rtol=1e-13, atol=0)
    np.testing.assert_allclose(np.outer(FILTER2_HCOL, FILTER2_HROW), np.rot90(window, 2),
                               rtol=1e-13, atol=0)
    assert FILTER2_HCOL[0] != FILTER2_HCOL[6]  # not symmetric: an SVD's rounding, kept as is


def test_filter2_is_conv2_of_the_factors_column_pass_then_row_pass_in_tap_order():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (14, 17)).astype(np.float64)
    img[2:12, 3:15] = 16.0  # a flat area with interior windows
    img[0, :] = 100.0
    ours = filter2_same(img)
    ref = conv2_reference(img, FILTER2_HCOL, FILTER2_HROW)
    np.testing.assert_array_equal(ours, ref)  # bit for bit, flat windows included
    # the other pass order, or the plain 1-D Gaussian, round differently somewhere
    assert not np.array_equal(ours, conv2_reference(img.T, FILTER2_HROW, FILTER2_HCOL).T)
    assert not np.array_equal(
        ours, conv2_reference(img, gaussian_window_1d(), gaussian_window_1d()))


@pytest.mark.parametrize('value,exactly_zero', [(16.0, False), (60.0, False), (131.0, True),
                                                (0.0, True)])
def test_flat_windows_keep_filter2s_residue(value, exactly_zero):
    img = np.random.default_rng(0).integers(0, 256, (40, 40)).astype(np.float64)
    img[10:30, 10:30] = value
    inner = mscn_filter2(img)[13:27, 13:27]  # every 7x7 window inside the patch is constant
    assert np.all(inner == inner[0, 0])  # one value, the residue of this grey level
    assert np.abs(inner).max() < 1e-12
    assert (inner[0, 0] == 0) == exactly_zero  # as MATLAB: sometimes exact, mostly not


def test_the_residue_decides_brisque_of_a_letterboxed_frame(model, monkeypatch):
    # Inside flat bars the paired products are residue squared: positive samples of the AGGD
    # fits, as in MATLAB. Dropping them (the old exact-zero rule) moved this score by points.
    import importlib

    from scipy.ndimage import maximum_filter, minimum_filter

    brisque_module = importlib.import_module('realbasicvsr_plugin.evaluation.metrics.brisque')

    def exact_zero_on_flat_windows(img):
        mscn = mscn_filter2(img)
        mscn[maximum_filter(img, 7, mode='constant') == minimum_filter(img, 7, mode='constant')] = 0
        return mscn

    img = calibration_image('I04')
    scores = {}
    for level in (16, 0):
        boxed = img.copy()
        boxed[:48] = level
        boxed[-48:] = level
        matlab = brisque(boxed, 0, model=model)
        with monkeypatch.context() as m:
            m.setattr(brisque_module, 'mscn_filter2', exact_zero_on_flat_windows)
            dropped = brisque(boxed, 0, model=model)
        scores[level] = (matlab, dropped)
    assert scores[16][0] - scores[16][1] > 3  # grey bars: residues of 1e-14 count
    assert scores[0][0] == scores[0][1]  # black bars: 0 * h is exactly 0 in MATLAB too
