#!/usr/bin/env python
"""How far bfloat16 autocast moves a model's output from float32 (the README's "Mixed precision"
figures).

Runs the first ``--frames`` frames of a clip (default: the bundled demo clip) through the model
(default: the shipped demo model) twice, in float32 and under MMEngine's ``autocast`` (what
MMagic's loops do with ``fp16=True``: bfloat16 on a CPU), and prints the largest and mean
difference of the outputs on the 0-255 scale, the PSNR between them, whether every frame took the
same number of refinement passes, and the NIQE (Y, crop 4) of each output, mean and per frame.

    python scripts/compare_bf16.py
    python scripts/compare_bf16.py --input clip.mp4 --frames 6 --config C --checkpoint CKPT
"""
import argparse
import math
from pathlib import Path

import av
import numpy as np
import torch
from mmengine.runner.amp import autocast

from realbasicvsr_plugin.apis import load_model
from realbasicvsr_plugin.evaluation import niqe

DEMO_CLIP = Path(__file__).resolve().parents[1] / 'realbasicvsr_plugin' / 'demo' / 'coffee_lq.mp4'


def read_frames(path: Path, count: int) -> np.ndarray:
    """The first ``count`` frames of a video as RGB uint8, (T, H, W, 3)."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format='rgb24')
                  for _, f in zip(range(count), container.decode(video=0))]
    if not frames:
        raise SystemExit(f'compare_bf16: {path}: no video frames')
    return np.stack(frames)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--input', type=Path, default=DEMO_CLIP)
    p.add_argument('--frames', type=int, default=6)
    p.add_argument('--config', default=None, help='default: the shipped demo model')
    p.add_argument('--checkpoint', default=None)
    args = p.parse_args(argv)

    net, _ = load_model(args.config, args.checkpoint)
    frames = read_frames(args.input, args.frames)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()[None] / 255.
    with torch.no_grad():
        fp32 = net(x).clamp(0, 1)
        passes32 = net.last_passes.clone()
        with autocast(enabled=True):
            bf16 = net(x).float().clamp(0, 1)
        passes16 = net.last_passes.clone()
    diff = (fp32 - bf16).abs() * 255
    psnr = 10 * math.log10(255 ** 2 / max(float((diff ** 2).mean()), 1e-20))

    def frame_niqe(out):
        images = (out[0].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        return np.array([niqe(f, 4, convert_to='y', channel_order='rgb') for f in images])

    n32, n16 = frame_niqe(fp32), frame_niqe(bf16)
    print(f'{args.input.name}: {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    print(f'output difference (0-255): max {float(diff.max()):.3f}, mean {float(diff.mean()):.4f}; '
          f'PSNR bf16 vs fp32 {psnr:.1f} dB')
    print(f'refinement passes per frame: fp32 {passes32.tolist()}, bf16 {passes16.tolist()} '
          f'({"same" if torch.equal(passes32, passes16) else "DIFFERENT"})')
    print(f'NIQE (Y, crop 4): fp32 {n32.mean():.3f}, bf16 {n16.mean():.3f}; '
          f'largest per-frame difference {np.abs(n32 - n16).max():.3f}')


if __name__ == '__main__':
    main()
