#!/usr/bin/env python
"""Say exactly what is missing or malformed in the data a config will read.

For every ``BasicFramesDataset`` of a config (train, val, test) it checks the folders the dataset
will scan: that they exist and hold clip folders; that each clip's frames are readable images of
one size; that their names follow the ``filename_tmpl`` the pipeline's ``GenerateSegmentIndices``
builds (contiguous from 0) and that there are at least ``num_input_frames`` of them; and, when
input and ground truth live in different folders, that they hold the same clips and frames with
the ground truth ``scale`` times larger. Image headers are read, not whole images, so a full REDS
check takes seconds.

    python scripts/check_dataset.py configs/realbasicvsr_stage1.py
    python scripts/check_dataset.py configs/realbasicvsr_stage1.py --data-root /data

Exit status: 0 when everything the config needs is there, 1 otherwise.
"""
import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from PIL import Image

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')
MAX_LISTED = 20


FULL_DECODE = False  # --full: decode every image, which also finds truncated files


def image_size(path: Path) -> Optional[Tuple[int, int]]:
    """(height, width) of an image, or None when it is not a readable image."""
    try:
        with Image.open(path) as img:
            if FULL_DECODE:
                img.load()
            return img.size[1], img.size[0]
    except Exception:  # noqa: BLE001 (any unreadable file)
        return None


class Report:
    """Problems found, grouped by data set."""

    def __init__(self) -> None:
        self.problems: List[str] = []

    def add(self, message: str) -> None:
        self.problems.append(message)


def scan_clips(folder: Path, report: Report, label: str) -> Dict[str, Dict[str, Tuple]]:
    """clip -> frame name -> (h, w); reports missing folders, empty clips, unreadable frames."""
    if not folder.is_dir():
        report.add(f'{label}: folder not found: {folder}')
        return {}
    clips = sorted(p for p in folder.iterdir() if p.is_dir())
    if not clips:
        report.add(f'{label}: no clip folders in {folder} (expected {folder}/<clip>/<frame>.png)')
        return {}
    result = {}
    for clip in clips:
        frames = sorted(p for p in clip.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not frames:
            report.add(f'{label}: clip {clip} holds no images')
            continue
        sizes = {}
        for frame in frames:
            size = image_size(frame)
            if size is None:
                report.add(f'{label}: unreadable image {frame}')
            else:
                sizes[frame.name] = size
        if len(set(sizes.values())) > 1:
            common = Counter(sizes.values()).most_common(1)[0][0]
            odd = [f'{n} {s[0]}x{s[1]}' for n, s in sizes.items() if s != common]
            report.add(f'{label}: clip {clip} mixes frame sizes: most are '
                       f'{common[0]}x{common[1]}, but {", ".join(odd[:5])}'
                       + (' ...' if len(odd) > 5 else ''))
        result[clip.name] = sizes
    return result


def check_names(clips: Dict[str, Dict], tmpl: Optional[str], need: int, report: Report,
                label: str, folder: Path) -> None:
    for clip, frames in clips.items():
        if len(frames) < need:
            report.add(f'{label}: clip {folder / clip} has {len(frames)} frames, the config '
                       f'loads {need}')
        if tmpl is None:
            continue
        expected = {tmpl.format(i) for i in range(len(frames))}
        missing = sorted(expected - set(frames))
        if missing:
            report.add(f'{label}: clip {folder / clip}: frames are not named {tmpl!r} from 0 '
                       f'without gaps; missing {", ".join(missing[:5])}'
                       + (' ...' if len(missing) > 5 else ''))


def check_pair(lq: Dict, gt: Dict, scale: int, report: Report, label: str) -> None:
    for clip in sorted(set(gt) - set(lq)):
        report.add(f'{label}: clip {clip} has ground truth but no input frames')
    for clip in sorted(set(lq) - set(gt)):
        report.add(f'{label}: clip {clip} has input frames but no ground truth')
    for clip in sorted(set(lq) & set(gt)):
        only_lq = sorted(set(lq[clip]) - set(gt[clip]))
        only_gt = sorted(set(gt[clip]) - set(lq[clip]))
        if only_lq or only_gt:
            report.add(f'{label}: clip {clip}: frames only in the input: {only_lq[:5]}, only in '
                       f'the ground truth: {only_gt[:5]}')
        for name in sorted(set(lq[clip]) & set(gt[clip])):
            (lh, lw), (gh, gw) = lq[clip][name], gt[clip][name]
            if (gh, gw) != (lh * scale, lw * scale):
                report.add(f'{label}: clip {clip} frame {name}: ground truth {gh}x{gw} is not '
                           f'{scale}x the input {lh}x{lw}')
                break


def pipeline_template(pipeline) -> Tuple[Optional[str], bool]:
    """(filename_tmpl of GenerateSegmentIndices or None, whether frames are loaded by index)."""
    for step in pipeline or []:
        if step.get('type') == 'GenerateSegmentIndices':
            return step.get('filename_tmpl', '{:08d}.png'), True
    return None, False


def check_dataset_cfg(name: str, dataset: dict, data_root: Optional[str], scale: int,
                      report: Report) -> str:
    if dataset.get('type') != 'BasicFramesDataset':
        return f'{name}: dataset type {dataset.get("type")} is not checked'
    root = Path(data_root) / Path(dataset['data_root']).name if data_root else Path(
        dataset['data_root'])
    prefix = dataset.get('data_prefix', {})
    tmpl, indexed = pipeline_template(dataset.get('pipeline'))
    need = int(dataset.get('num_input_frames') or 1)
    folders = {k: root / v for k, v in prefix.items() if k in ('img', 'gt')}
    scanned = {}
    for key, folder in folders.items():
        if key == 'gt' and folder == folders.get('img'):
            continue
        scanned[key] = scan_clips(folder, report, name)
        check_names(scanned[key], tmpl if indexed else None, need, report, name, folder)
    if 'img' in scanned and 'gt' in scanned:
        check_pair(scanned['img'], scanned['gt'], scale, report, name)
    clips = sum(len(v) for v in scanned.values())
    frames = sum(len(f) for v in scanned.values() for f in v.values())
    return f'{name}: {", ".join(str(f) for f in folders.values())}: {clips} clips, {frames} frames'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', type=Path)
    p.add_argument('--data-root', default=None,
                   help="replace the folder that holds each data set (the config's 'data')")
    p.add_argument('--only', nargs='+', choices=['train', 'val', 'test'], default=None)
    p.add_argument('--full', action='store_true',
                   help='decode every image (slower; also finds truncated files)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    global FULL_DECODE
    args = parse_args(argv)
    FULL_DECODE = args.full
    if not args.config.is_file():
        print(f'error: config not found: {args.config}', file=sys.stderr)
        return 1
    from mmengine.config import Config
    cfg = Config.fromfile(str(args.config))
    scale = int(cfg.get('scale', 4))
    report = Report()
    summaries = []
    for split in args.only or ['train', 'val', 'test']:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        loaders = loader if isinstance(loader, (list, tuple)) else [loader]
        for i, one in enumerate(loaders):
            label = split if len(loaders) == 1 else f'{split}[{i}]'
            summaries.append(check_dataset_cfg(label, one['dataset'], args.data_root, scale,
                                               report))
    for line in summaries:
        print(line)
    if report.problems:
        print(f'{len(report.problems)} problem(s):')
        for problem in report.problems[:MAX_LISTED]:
            print(f'  {problem}')
        if len(report.problems) > MAX_LISTED:
            print(f'  ... and {len(report.problems) - MAX_LISTED} more')
        return 1
    print('everything the config reads is there')
    return 0


if __name__ == '__main__':
    sys.exit(main())
