#!/usr/bin/env python
"""Crop REDS frames into overlapping sub-images for training (``train_sharp_sub``).

REDS frames are 720x1280; RealBasicVSR (like BasicVSR and MMagic) trains on 480x480 crops taken
every 240 pixels, which makes loading cheaper. ``<src>/<clip>/<frame>.png`` becomes
``<dst>/<clip>_s<k>/<frame>.png`` with ``k`` = 001, 002, ... in row-major order, so that each
sub-image folder is a clip of its own for ``BasicFramesDataset``.

The script is resumable: sub-images that already exist with the right size are kept; each written
file is read back and checked, and a file is written to a temporary name and renamed, so an
interrupted run never leaves a truncated PNG behind.

    python scripts/crop_reds_subimages.py data/REDS/train_sharp data/REDS/train_sharp_sub
"""
import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import List, Tuple

import cv2
from tqdm import tqdm

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')


def crop_positions(length: int, crop: int, step: int, thresh: int) -> List[int]:
    """Start offsets of the crops along one side (the last crop is flush with the edge).

    Args:
        length: Side length of the frame.
        crop: Crop size.
        step: Step between crops.
        thresh: A remainder larger than this gets one more crop, flush with the edge.

    Returns:
        list[int]: The offsets.
    """
    if length < crop:
        raise ValueError(f'frame side {length} is smaller than the crop size {crop}')
    positions = list(range(0, length - crop + 1, step))
    if length - (positions[-1] + crop) > thresh:
        positions.append(length - crop)
    return positions


def crop_frame(job: Tuple[str, str, str, int, int, int]) -> Tuple[int, int, str]:
    """Crop one frame into its sub-images. Returns (written, kept, error message or '')."""
    src, dst_root, clip, crop, step, thresh = job
    img = cv2.imread(src, cv2.IMREAD_UNCHANGED)
    if img is None:
        return 0, 0, f'{src}: unreadable image'
    h, w = img.shape[:2]
    try:
        ys, xs = crop_positions(h, crop, step, thresh), crop_positions(w, crop, step, thresh)
    except ValueError as err:
        return 0, 0, f'{src}: {err}'
    name = Path(src).stem + '.png'
    written = kept = 0
    index = 0
    for y in ys:
        for x in xs:
            index += 1
            out_dir = Path(dst_root) / f'{clip}_s{index:03d}'
            out = out_dir / name
            if out.is_file():
                existing = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
                if existing is not None and existing.shape[:2] == (crop, crop):
                    kept += 1
                    continue
            out_dir.mkdir(parents=True, exist_ok=True)
            tmp = out_dir / f'.{name}.tmp.png'
            patch = img[y:y + crop, x:x + crop]
            if not cv2.imwrite(str(tmp), patch, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
                return written, kept, f'{out}: cannot write (disk full or no permission?)'
            check = cv2.imread(str(tmp), cv2.IMREAD_UNCHANGED)
            if check is None or check.shape != patch.shape or (check != patch).any():
                tmp.unlink(missing_ok=True)
                return written, kept, f'{out}: the written file does not read back identical'
            os.replace(tmp, out)
            written += 1
    return written, kept, ''


def find_frames(src: Path) -> List[Tuple[str, str]]:
    """(clip name, frame path) for every image one folder below ``src``."""
    clips = sorted(p for p in src.iterdir() if p.is_dir())
    if not clips:
        raise SystemExit(f'error: {src} has no clip folders (expected {src}/<clip>/<frame>.png)')
    frames = [(clip.name, str(f)) for clip in clips for f in sorted(clip.iterdir())
              if f.suffix.lower() in IMAGE_SUFFIXES]
    if not frames:
        raise SystemExit(f'error: no images in the clip folders of {src}')
    return frames


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', type=Path, help='folder of clip folders (e.g. data/REDS/train_sharp)')
    p.add_argument('dst', type=Path, help='output folder (e.g. data/REDS/train_sharp_sub)')
    p.add_argument('--crop-size', type=int, default=480)
    p.add_argument('--step', type=int, default=240)
    p.add_argument('--thresh-size', type=int, default=0)
    p.add_argument('--workers', type=int, default=min(8, os.cpu_count() or 1))
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.src.is_dir():
        raise SystemExit(f'error: source folder not found: {args.src}')
    if args.src.resolve() == args.dst.resolve():
        raise SystemExit('error: the output folder must differ from the source folder')
    for name, value in (('--crop-size', args.crop_size), ('--step', args.step)):
        if value < 1:
            raise SystemExit(f'error: {name} must be positive, got {value}')
    frames = find_frames(args.src)
    jobs = [(path, str(args.dst), clip, args.crop_size, args.step, args.thresh_size)
            for clip, path in frames]
    written = kept = 0
    errors = []
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for w, k, err in tqdm(pool.map(crop_frame, jobs, chunksize=4), total=len(jobs),
                              desc='cropping', unit='frame'):
            written, kept = written + w, kept + k
            if err:
                errors.append(err)
    print(f'{len(jobs)} frames: {written} sub-images written, {kept} already there and kept')
    for err in errors:
        print(f'error: {err}', file=sys.stderr)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
