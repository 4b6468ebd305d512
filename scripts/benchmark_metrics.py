#!/usr/bin/env python
"""Speed and fidelity of the plugin's NIQE and BRISQUE, with MMagic's NIQE in the same run.

    python scripts/benchmark_metrics.py --brisque-dir tests/data/brisque

Prints

* the time of one 720x1280 frame for the plugin's ``niqe`` and ``brisque`` and for MMagic's
  ``niqe`` (median of ``--repeat`` runs after a warm-up);
* the scores on the calibration images (``tests/data/calibration``) against the official releases;
* where MMagic's NIQE loses its 0.09 on I03: each difference from the MATLAB release switched on
  in turn;
* BRISQUE of images with flat areas (made from I04: letterbox bars, a clipped sky, a flat patch,
  coarse quantisation) with ``filter2``'s arithmetic as the plugin reproduces it, against the
  arithmetic details that could not be pinned down (pass sums in the other order, LAPACK's other
  SVD driver, fused multiply-adds) and against dropping flat windows (the former rule); and the
  same for NIQE of I03.
"""
import argparse
import os.path as osp
import platform
import time
from fractions import Fraction
from typing import Callable, Dict, Sequence

import cv2
import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CALIBRATION = osp.join(REPO, 'tests', 'data', 'calibration')
OFFICIAL = {'I03': {'NIQE': 15.7536, 'BRISQUE': 94.6421},
            'I04': {'NIQE': 3.6549, 'BRISQUE': -0.1076}}


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def test_frame(calibration: str) -> np.ndarray:
    """A natural 720x1280 BGR frame: I04 enlarged with OpenCV's bicubic."""
    img = cv2.imread(osp.join(calibration, 'I04.bmp'))
    if img is None:
        raise SystemExit(f'cannot read {calibration}/I04.bmp (use --calibration)')
    return cv2.resize(img, (1280, 720), interpolation=cv2.INTER_CUBIC)


def niqe_gap_breakdown(img: np.ndarray) -> Dict[str, float]:
    """NIQE of I03 as each difference between MMagic and the MATLAB release is removed."""
    import importlib
    mmagic_niqe = importlib.import_module('mmagic.evaluation.metrics.niqe')

    from realbasicvsr_plugin.evaluation.metrics.luminance import to_luminance
    from realbasicvsr_plugin.evaluation.metrics.niqe import (load_niqe_pristine_params,
                                                             niqe_features, niqe_quality)

    npz = np.load(osp.join(osp.dirname(mmagic_niqe.__file__), 'niqe_pris_params.npz'))
    params = load_niqe_pristine_params()
    gray = to_luminance(img, convert_to='gray')  # MATLAB rgb2gray of the 8-bit image

    def mm_core(plane):
        return float(mmagic_niqe.niqe_core(plane, npz['mu_pris_param'], npz['cov_pris_param'],
                                           npz['gaussian_window']))

    return {
        'MMagic niqe(convert_to=gray)': float(mmagic_niqe.niqe(img, 0, convert_to='gray')),
        'MMagic core on MATLAB rgb2gray, float32': mm_core(gray.astype(np.float32)),
        'MMagic core on MATLAB rgb2gray, float64': mm_core(gray),
        'plugin, flat areas keep float residue': niqe_quality(
            niqe_features(gray, exact_flat=False), params['mu'], params['cov']),
        'plugin (flat areas exactly 0)': niqe_quality(niqe_features(gray), params['mu'],
                                                      params['cov']),
    }


def _flat_mask(img: np.ndarray, mode: str) -> np.ndarray:
    from scipy.ndimage import maximum_filter, minimum_filter
    return maximum_filter(img, 7, mode=mode) == minimum_filter(img, 7, mode=mode)


def _chain(taps: Sequence[float], x: float, fused: bool) -> float:
    """sum_k taps[k] * x, one tap after the other; fused: each step one rounding (an FMA)."""
    acc = 0.0
    for tap in taps:
        acc = float(Fraction(tap) * Fraction(x) + Fraction(acc)) if fused else acc + tap * x
    return acc


def _flat_residue(value: float, first: Sequence[float], second: Sequence[float],
                  fused: bool) -> float:
    """MSCN coefficient of a flat window of ``value`` under a given separable arithmetic."""
    mu = _chain(second, _chain(first, value, fused), fused)
    energy = _chain(second, _chain(first, value * value, fused), fused)
    return (value - mu) / (np.sqrt(abs(energy - mu * mu)) + 1.0)


def flat_area_study(model) -> None:
    """Print BRISQUE (and NIQE of I03) under filter2/imfilter arithmetic variants."""
    import importlib

    from realbasicvsr_plugin.evaluation import brisque, niqe
    from realbasicvsr_plugin.evaluation.metrics import natural_scene_statistics as nss
    from realbasicvsr_plugin.evaluation.metrics.luminance import to_luminance
    from realbasicvsr_plugin.evaluation.metrics.niqe import (load_niqe_pristine_params,
                                                             niqe_features, niqe_quality)

    brisque_module = importlib.import_module('realbasicvsr_plugin.evaluation.metrics.brisque')
    niqe_module = importlib.import_module('realbasicvsr_plugin.evaluation.metrics.niqe')
    window = nss.matlab_gaussian_window()
    local = nss.matlab_separable_factors(np.rot90(window, 2))  # this LAPACK build's dgesvd
    # MKL's dgesvd on its SSE4.2/compatible code path (MKL_CBWR=SSE4_2): hcol differs in 3 taps
    mkl_sse = (np.array(nss.FILTER2_HCOL), nss.FILTER2_HROW)
    for k, v in ((0, '-0x1.9b92991f24903p-7'), (1, '-0x1.42e11ca517a62p-4'),
                 (5, '-0x1.42e11ca517a62p-4')):
        mkl_sse[0][k] = float.fromhex(v)
    plugin = (nss.FILTER2_HCOL, nss.FILTER2_HROW)

    def variant(factors, reverse: bool, fused: bool):
        first, second = (f[::-1] if reverse else f for f in factors)

        def mscn(img):
            out = nss.mscn_filter2(img)
            flat = _flat_mask(img, 'constant')
            for value in np.unique(img[flat]):
                out[flat & (img == value)] = _flat_residue(float(value), first, second, fused)
            return out
        return mscn

    def dropped(img):
        out = nss.mscn_filter2(img)
        out[_flat_mask(img, 'constant')] = 0.0
        return out

    variants = {
        'plugin': nss.mscn_filter2,
        'sums reversed': variant(plugin, True, False),
        'FMA': variant(plugin, False, True),
        'MKL SSE4.2 path': variant(mkl_sse, False, False),
        'local LAPACK': variant(local, False, False),
        'flat = 0 (old)': dropped,
    }
    base = cv2.imread(osp.join(CALIBRATION, 'I04.bmp'))
    images = {'I04 as is': base.copy()}
    for name, level in (('letterbox bars at 16', 16), ('letterbox bars at 0', 0)):
        img = base.copy()
        img[:48] = level
        img[-48:] = level
        images[name] = img
    img = base.copy()
    img[img.max(axis=2) > 200] = 255
    img[:60, :200] = 255
    images['clipped sky (255)'] = img
    img = base.copy()
    img[100:200, 100:300] = 128
    images['flat patch at 128'] = img
    images['8 grey levels'] = (base // 32 * 32 + 16).astype(np.uint8)
    images['I03 (calibration)'] = cv2.imread(osp.join(CALIBRATION, 'I03.bmp'))

    print('\nBRISQUE of images with flat areas, filter2 arithmetic variants:')
    print('  ' + f'{"image":<22s}' + ''.join(f'{k:>16s}' for k in variants))
    for name, img in images.items():
        row = []
        for fn in variants.values():
            original = brisque_module.mscn_filter2
            brisque_module.mscn_filter2 = fn
            try:
                row.append(brisque(img, 0, model=model))
            finally:
                brisque_module.mscn_filter2 = original
        print('  ' + f'{name:<22s}' + ''.join(f'{v:16.4f}' for v in row))

    params = load_niqe_pristine_params()
    gray = to_luminance(cv2.imread(osp.join(CALIBRATION, 'I03.bmp')), convert_to='gray')
    hcol, hrow = nss.FILTER2_HCOL, nss.FILTER2_HROW  # MKL's factors of the window (and rot90)
    original = nss.mscn_coefficients
    print(f'\nNIQE of I03 (official {OFFICIAL["I03"]["NIQE"]}), imfilter arithmetic variants:')
    for label, factors, reverse, fused in (
            ('MKL factors, flat windows only', (hcol, hrow), False, False),
            ('MKL factors, flat windows, FMA', (hcol, hrow), False, True),
            ('MKL factors, flat windows, reversed', (hcol, hrow), True, False),
            ('local LAPACK factors, flat windows', nss.matlab_separable_factors(window), False,
             False)):
        first, second = factors[1], factors[0]  # imfilter: the row factor first
        if reverse:
            first, second = first[::-1], second[::-1]

        def mscn(img, window_1d, padding='replicate', exact_flat=True):
            out = original(img, window_1d, padding, exact_flat=False)
            flat = _flat_mask(img, 'nearest')
            for value in np.unique(img[flat]):
                out[flat & (img == value)] = _flat_residue(float(value), first, second, fused)
            return out
        niqe_module.mscn_coefficients = mscn
        try:
            value = niqe_quality(niqe_features(gray), params['mu'], params['cov'])
        finally:
            niqe_module.mscn_coefficients = original
        print(f'  {label:<42s} {value:8.4f}  ({value - OFFICIAL["I03"]["NIQE"]:+.4f})')
    def imfilter_replicate(img, taps, axis):
        # correlation with replicate padding, each output summed in tap order
        pad = [(0, 0), (0, 0)]
        pad[axis] = (3, 3)
        padded = np.pad(img, pad, mode='edge')
        out = None
        for k, tap in enumerate(taps):
            index = [slice(None), slice(None)]
            index[axis] = slice(k, k + img.shape[axis])
            term = tap * padded[tuple(index)]
            out = term if out is None else out + term
        return out

    def full_emulation(img, window_1d, padding='replicate', exact_flat=True):
        def filt(x):  # imfilter: the row factor first, then the column factor
            return imfilter_replicate(imfilter_replicate(x, hrow, 1), hcol, 0)
        mu = filt(img)
        return (img - mu) / (np.sqrt(np.abs(filt(img * img) - mu * mu)) + 1.0)
    niqe_module.mscn_coefficients = full_emulation
    try:
        value = niqe_quality(niqe_features(gray), params['mu'], params['cov'])
    finally:
        niqe_module.mscn_coefficients = original
    print(f'  {"MKL factors, every pixel (full imfilter)":<42s} {value:8.4f}  '
          f'({value - OFFICIAL["I03"]["NIQE"]:+.4f})')
    value = niqe(cv2.imread(osp.join(CALIBRATION, 'I03.bmp')), 0)
    print(f'  {"plugin (flat windows exactly 0)":<42s} {value:8.4f}  '
          f'({value - OFFICIAL["I03"]["NIQE"]:+.4f})')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--calibration', default=CALIBRATION)
    parser.add_argument('--brisque-dir', default=None,
                        help='folder with allmodel/allrange (default: cache or download)')
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()

    from mmagic.evaluation.metrics.niqe import niqe as mmagic_niqe

    from realbasicvsr_plugin.evaluation import brisque, load_brisque_model, niqe

    model = load_brisque_model(args.brisque_dir)
    frame = test_frame(args.calibration)
    print(f'machine: {platform.processor() or platform.machine()}, '
          f'{__import__("os").cpu_count()} logical CPUs')
    print(f'\nOne 720x1280 frame (median of {args.repeat} runs):')
    timings = {
        'plugin niqe (gray)': lambda: niqe(frame, 0),
        'plugin brisque (gray)': lambda: brisque(frame, 0, model=model),
        'MMagic niqe (gray)': lambda: mmagic_niqe(frame, 0, convert_to='gray'),
    }
    for name, fn in timings.items():
        print(f'  {name:<24s} {median_time(fn, args.repeat):7.3f} s')

    print('\nCalibration images (official MATLAB releases vs this run):')
    print(f'  {"image":<6s}{"metric":<9s}{"official":>10s}{"plugin":>10s}{"|diff|":>9s}'
          f'{"MMagic":>10s}{"|diff|":>9s}')
    for name, ref in OFFICIAL.items():
        img = cv2.imread(osp.join(args.calibration, f'{name}.bmp'))
        ours = {'NIQE': niqe(img, 0), 'BRISQUE': brisque(img, 0, model=model)}
        theirs = {'NIQE': float(mmagic_niqe(img, 0, convert_to='gray'))}
        for metric in ('NIQE', 'BRISQUE'):
            mm = theirs.get(metric)
            mm_txt = (f'{mm:10.4f}{abs(mm - ref[metric]):9.4f}' if mm is not None else
                      f'{"n/a":>10s}{"":>9s}')
            print(f'  {name:<6s}{metric:<9s}{ref[metric]:10.4f}{ours[metric]:10.4f}'
                  f'{abs(ours[metric] - ref[metric]):9.4f}{mm_txt}')

    print('\nNIQE of I03, removing the differences to the MATLAB release one by one '
          f'(official {OFFICIAL["I03"]["NIQE"]}):')
    img = cv2.imread(osp.join(args.calibration, 'I03.bmp'))
    for step, value in niqe_gap_breakdown(img).items():
        print(f'  {step:<42s} {value:8.4f}  ({value - OFFICIAL["I03"]["NIQE"]:+.4f})')

    flat_area_study(model)


if __name__ == '__main__':
    main()
