#!/usr/bin/env python
"""Score a RealBasicVSR checkpoint against bicubic upsampling on held-out synthetic clips.

The held-out clips (scripts/make_demo_clips.py: camera moves over scikit-image samples the demo
model never saw) are degraded once with the plugin's own training degradation
(``RealBasicVSRDegradations``, fixed seed, kept in ``<data>/LQ``), then super-resolved by the
model and by bicubic upsampling. Reported per clip and on average: PSNR/SSIM on the Y channel
against the ground truth (MMagic's functions), and NIQE/BRISQUE (the plugin's, lower is better)
of the bicubic-upscaled input and of the output.

    python scripts/evaluate_demo_model.py                   # the shipped demo model
    python scripts/evaluate_demo_model.py --checkpoint work_dirs/realbasicvsr_demo/iter_1200.pth
"""
import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from mmagic.evaluation.metrics.psnr import psnr
from mmagic.evaluation.metrics.ssim import ssim
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

import realbasicvsr_plugin  # noqa: F401
from realbasicvsr_plugin.evaluation import brisque, niqe
from realbasicvsr_plugin.models import load_checkpoint
from realbasicvsr_plugin.registry import MODELS

REPO = Path(__file__).resolve().parents[1]


def read_clip(folder: Path) -> list:
    frames = [cv2.imread(str(p)) for p in sorted(folder.glob('*.png'))]
    if not frames or any(f is None for f in frames):
        raise SystemExit(f'error: no readable PNG frames in {folder}')
    return frames


def make_lq(gt_root: Path, lq_root: Path, scale: int, seed: int) -> None:
    """Degrade every held-out clip once with the training degradation (fixed seed)."""
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
        rgb = [f[..., ::-1].astype(np.float32) for f in gt]
        lq = pipeline(dict(img=rgb))['img']
        out.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(lq):
            cv2.imwrite(str(out / f'{i:08d}.png'),
                        np.clip(np.round(frame[..., ::-1]), 0, 255).astype(np.uint8))


def build_model(config: Path, checkpoint: str, thres: float):
    init_default_scope('realbasicvsr_plugin')
    cfg = Config.fromfile(str(config))
    net = MODELS.build(cfg.model.generator)
    load_checkpoint(net, checkpoint)
    net.set_refinement(thres, 3)
    return net.eval()


def super_resolve(net, lq_bgr: list) -> list:
    x = torch.from_numpy(np.stack([f[..., ::-1] for f in lq_bgr]).copy()).permute(0, 3, 1, 2)
    with torch.inference_mode():
        out = net(x.float().div(255).unsqueeze(0))[0]
    out = out.clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()
    return [np.ascontiguousarray(f[..., ::-1]) for f in out]


def score(sr: list, gt: list) -> dict:
    return dict(
        psnr=float(np.mean([psnr(a, b, convert_to='Y', channel_order='bgr')
                            for a, b in zip(sr, gt)])),
        ssim=float(np.mean([ssim(a, b, convert_to='Y', channel_order='bgr')
                            for a, b in zip(sr, gt)])),
        niqe=float(np.mean([niqe(a, 0) for a in sr])),
        brisque=float(np.mean([brisque(a) for a in sr])))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', type=Path, default=REPO / 'data' / 'demo' / 'heldout')
    p.add_argument('--config', type=Path, default=REPO / 'configs' / 'realbasicvsr_demo.py')
    p.add_argument('--checkpoint', default=None,
                   help='default: the demo model shipped in the package')
    p.add_argument('--thres', type=float, default=5.0,
                   help='theta of Eq. 5 (0-255); 5 as in the shipped demo config')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', type=Path, default=None)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checkpoint = args.checkpoint
    if checkpoint is None:
        from realbasicvsr_plugin.apis import default_model
        _, checkpoint = default_model()
    gt_root = args.data / 'GT'
    if not gt_root.is_dir():
        raise SystemExit(f'error: {gt_root} does not exist; make it with '
                         'python scripts/make_demo_clips.py --heldout-only')
    net = build_model(args.config, str(checkpoint), args.thres)
    make_lq(gt_root, args.data / 'LQ', net.scale, args.seed)
    rows = {}
    for clip in sorted(p for p in gt_root.iterdir() if p.is_dir()):
        gt = read_clip(clip)
        lq = read_clip(args.data / 'LQ' / clip.name)
        h, w = gt[0].shape[:2]
        bicubic = [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in lq]
        rows[clip.name] = dict(bicubic=score(bicubic, gt), model=score(super_resolve(net, lq), gt),
                               passes=float(net.last_passes.float().mean()))
    keys = ['psnr', 'ssim', 'niqe', 'brisque']
    mean = {m: {k: float(np.mean([r[m][k] for r in rows.values()])) for k in keys}
            for m in ('bicubic', 'model')}
    print(f'checkpoint: {checkpoint}')
    print('| clip | method | PSNR-Y | SSIM-Y | NIQE | BRISQUE |')
    print('| --- | --- | --- | --- | --- | --- |')
    for name, r in list(rows.items()) + [('mean', mean)]:
        for m in ('bicubic', 'model'):
            s = r[m]
            print(f'| {name} | {m} | {s["psnr"]:.2f} | {s["ssim"]:.4f} | {s["niqe"]:.3f} | '
                  f'{s["brisque"]:.2f} |')
    if args.json:
        args.json.write_text(json.dumps(dict(clips=rows, mean=mean), indent=2))


if __name__ == '__main__':
    main()
