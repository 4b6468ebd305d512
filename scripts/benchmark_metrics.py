#!/usr/bin/env python
"""Speed and fidelity of the plugin's NIQE and BRISQUE, with MMagic's NIQE in the same run.

    python scripts/benchmark_metrics.py --brisque-dir ../shared/models/brisque

Prints

* the time of one 720x1280 frame for the plugin's ``niqe`` and ``brisque`` and for MMagic's
  ``niqe`` (median of ``--repeat`` runs after a warm-up);
* the scores on the calibration images (``../shared/calibration``) against the official releases;
* where MMagic's NIQE loses its 0.09 on I03: each difference from the MATLAB release switched on
  in turn.
"""
import argparse
import os.path as osp
import platform
import time
from typing import Callable, Dict

import cv2
import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CALIBRATION = osp.join(REPO, '..', 'shared', 'calibration')
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


if __name__ == '__main__':
    main()
