#!/usr/bin/env python
"""Evaluate a RealBasicVSR checkpoint on a VideoLQ-layout folder, like the paper's Table 2.

    python scripts/evaluate_videolq.py data/VideoLQ --checkpoint realbasicvsr_x4.pth

For every video folder (``DATA_ROOT/<video>/<frame>.png``) the model super-resolves the whole
sequence (or chunks of ``--max-seq-len`` frames), and NIQE and BRISQUE (faithful to the official
releases) score the selected frames of the output and of a bicubic (MATLAB ``imresize``) upscale
of the input. It prints a table per video and the means over videos, writes ``results.json`` and
``results.csv``, and for each video a side-by-side image (bicubic against output, with a zoomed
crop) into ``OUT_DIR/compare/``.

Frames are read as 8-bit images: gray frames are replicated to three channels and an alpha
channel is dropped (both said once per video); other formats, empty folders and frames of mixed
sizes stop the run with a message naming the file.
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
import tempfile
import time
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
METRICS = ('NIQE', 'BRISQUE')
REPO_CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                       'realbasicvsr_x4_videolq.py')


class EvaluationError(ValueError):
    """Bad input for the evaluation (folder layout, frames, options)."""


# --------------------------------------------------------------------------- reading frames
def list_videos(data_root: str) -> List[Tuple[str, List[str]]]:
    """Video folders of a VideoLQ-layout root and their frame files, sorted by name.

    Args:
        data_root (str): ``DATA_ROOT/<video>/<frame>.<ext>``.

    Returns:
        list[tuple[str, list[str]]]: ``(video name, frame paths)`` per video.
    """
    if not osp.isdir(data_root):
        raise EvaluationError(f"data root '{data_root}' is not a folder")
    entries = sorted(os.listdir(data_root))
    folders = [e for e in entries if osp.isdir(osp.join(data_root, e))]
    if not folders:
        loose = [e for e in entries if e.lower().endswith(IMG_EXTS)]
        hint = (f' (it holds {len(loose)} images directly: put them in a sub-folder, '
                f'{data_root}/<video>/<frame>.png)') if loose else ''
        raise EvaluationError(f"no video folders in '{data_root}'{hint}; expected the VideoLQ "
                              'layout DATA_ROOT/<video>/<frame>.png')
    videos = []
    for name in folders:
        folder = osp.join(data_root, name)
        frames = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMG_EXTS))
        if not frames:
            raise EvaluationError(f"video folder '{folder}' has no frames ({', '.join(IMG_EXTS)})")
        videos.append((name, [osp.join(folder, f) for f in frames]))
    return videos


def read_frames(paths: Sequence[str], video: str) -> np.ndarray:
    """Read a video's frames as 8-bit BGR, ``(t, h, w, 3)`` uint8.

    Args:
        paths (Sequence[str]): Frame files, in order.
        video (str): Video name, for messages.

    Returns:
        np.ndarray: The frames.
    """
    frames, notes = [], set()
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise EvaluationError(f"cannot read frame '{path}' (not an image or damaged)")
        if img.dtype != np.uint8:
            raise EvaluationError(f"frame '{path}' is {img.dtype}; only 8-bit frames are "
                                  'supported')
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            notes.add('gray frames replicated to 3 channels')
        elif img.shape[2] == 4:
            img = img[..., :3]
            notes.add('alpha channel dropped')
        elif img.shape[2] != 3:
            raise EvaluationError(f"frame '{path}' has {img.shape[2]} channels")
        if frames and img.shape != frames[0].shape:
            raise EvaluationError(
                f"video '{video}' mixes frame sizes: '{path}' is {img.shape[1]}x{img.shape[0]}, "
                f"'{paths[0]}' is {frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(img)
    for note in sorted(notes):
        print(f'  [{video}] {note}')
    return np.stack(frames)


# --------------------------------------------------------------------------- model
def build_model(config: str, checkpoint: Optional[str], random_init: bool,
                refine_thres: Optional[float], max_passes: int, cfg_options: Optional[dict],
                device: str) -> torch.nn.Module:
    """The generator of a plugin config with the checkpoint's weights, ready for inference.

    Args:
        config (str): Plugin config (its ``model.generator`` is built).
        checkpoint (str, optional): Checkpoint path or URL.
        random_init (bool): Allow running without a checkpoint (pipeline tests only).
        refine_thres (float, optional): Test-time theta of dynamic refinement (0-255 scale).
        max_passes (int): Pass limit of dynamic refinement.
        cfg_options (dict, optional): Overrides merged into the config.
        device (str): Torch device.

    Returns:
        torch.nn.Module: The network in eval mode.
    """
    from realbasicvsr_plugin.apis.model_loading import (build_generator, generator_config,
                                                        load_config)
    from realbasicvsr_plugin.models import load_checkpoint
    from realbasicvsr_plugin.models.inference import prepare_for_inference

    if checkpoint is None and not random_init:
        raise EvaluationError('give --checkpoint (or --random-init to test the pipeline with '
                              'random weights, whose scores mean nothing)')
    cfg = load_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    net = build_generator(generator_config(cfg))
    if checkpoint is not None:
        load_checkpoint(net, checkpoint, strict=True, map_location='cpu')
    if hasattr(net, 'set_refinement'):
        net.set_refinement(refine_thres, max_passes)
    return prepare_for_inference(net).to(device)


@torch.no_grad()
def super_resolve(net: torch.nn.Module, frames: np.ndarray, max_seq_len: Optional[int],
                  device: str):
    """Yield the output frames (8-bit BGR) of a video, one chunk of frames at a time.

    Args:
        net (torch.nn.Module): ``(n, t, 3, h, w)`` RGB [0, 1] -> ``(n, t, 3, sh, sw)``.
        frames (np.ndarray): ``(t, h, w, 3)`` uint8 BGR.
        max_seq_len (int, optional): Frames per forward (no overlap, as the original
            RealBasicVSR inference script); None: the whole video.
        device (str): Torch device.

    Yields:
        np.ndarray: ``(sh, sw, 3)`` uint8 BGR output frames, in order.
    """
    step = max_seq_len or len(frames)
    for start in range(0, len(frames), step):
        chunk = frames[start:start + step][..., ::-1]  # BGR -> RGB
        lqs = torch.from_numpy(np.ascontiguousarray(chunk)).permute(0, 3, 1, 2).float() / 255.
        out = net(lqs.unsqueeze(0).to(device))[0]
        out = (out.clamp(0, 1) * 255.).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        for frame in out:
            yield np.ascontiguousarray(frame[..., ::-1])


def bicubic_upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB ``imresize(frame, scale)`` (bicubic), rounded to 8 bits.

    Args:
        frame (np.ndarray): ``(h, w, 3)`` uint8.
        scale (int): Upscaling factor.

    Returns:
        np.ndarray: ``(scale*h, scale*w, 3)`` uint8.
    """
    from realbasicvsr_plugin.evaluation.metrics.luminance import quantize_uint8
    from realbasicvsr_plugin.evaluation.metrics.matlab_resize import matlab_imresize
    return quantize_uint8(matlab_imresize(frame, scale)).astype(np.uint8)


# --------------------------------------------------------------------------- scoring
class FrameScorer:
    """NIQE/BRISQUE of 8-bit BGR frames with the chosen options.

    Args:
        metrics (Sequence[str]): Metric names among ``NIQE``, ``BRISQUE``.
        crop_border (int): Border crop.
        convert_to (str): ``'gray'`` or ``'y'``.
        brisque_dir (str, optional): Folder with BRISQUE's model files.
        skip_undefined (bool): Leave out frames whose score is undefined.
    """

    def __init__(self, metrics: Sequence[str], crop_border: int, convert_to: str,
                 brisque_dir: Optional[str], skip_undefined: bool) -> None:
        from realbasicvsr_plugin.evaluation import brisque, load_brisque_model, niqe
        self.metrics = list(metrics)
        self.skip_undefined = skip_undefined
        kwargs = dict(crop_border=crop_border, convert_to=convert_to, channel_order='bgr')
        self.fns = {}
        if 'NIQE' in self.metrics:
            self.fns['NIQE'] = lambda f: niqe(f, **kwargs)
        if 'BRISQUE' in self.metrics:
            model = load_brisque_model(brisque_dir)  # fails here, before any inference
            self.fns['BRISQUE'] = lambda f: brisque(f, model=model, **kwargs)

    def __call__(self, frame: np.ndarray, where: str) -> Dict[str, Optional[float]]:
        from realbasicvsr_plugin.evaluation import UndefinedScoreError
        out = {}
        for name, fn in self.fns.items():
            try:
                out[name] = float(fn(frame))
            except UndefinedScoreError as err:
                if not self.skip_undefined:
                    raise EvaluationError(f'{name} of {where}: {err} (use --skip-undefined to '
                                          'leave such frames out)') from err
                warnings.warn(f'{name} of {where} is undefined, frame left out: {err}')
                out[name] = None
            except ValueError as err:
                raise EvaluationError(f'{name} of {where}: {err}') from err
        return out


def mean_or_none(values: List[Optional[float]]) -> Optional[float]:
    """Mean of the defined values, None when there are none."""
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


# --------------------------------------------------------------------------- the picture
def _label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    scale = max(0.5, img.shape[1] / 900)
    thick = max(1, int(round(scale * 2)))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.rectangle(img, (0, 0), (tw + 12, th + 14), (0, 0, 0), -1)
    cv2.putText(img, text, (6, th + 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                cv2.LINE_AA)
    return img


def detail_box(img: np.ndarray, side: int) -> Tuple[int, int]:
    """Top-left corner of the ``side`` x ``side`` window with the most gradient energy."""
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    energy = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    box = cv2.boxFilter(energy, -1, (side, side), normalize=False, borderType=cv2.BORDER_CONSTANT)
    h, w = gray.shape
    half = side // 2
    valid = box[half:h - side + half + 1, half:w - side + half + 1]
    y, x = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(y), int(x)


def side_by_side(bicubic: np.ndarray, output: np.ndarray, title: str,
                 max_width: int = 1600) -> np.ndarray:
    """Bicubic and output frames next to each other, with a zoomed crop of each below.

    The crop is the square (a quarter of the shorter side) where the bicubic frame has the most
    gradient energy, i.e. the most detailed part of the content; it is outlined in red on both
    frames and magnified by an integer factor (nearest neighbour) below them.

    Args:
        bicubic (np.ndarray): ``(H, W, 3)`` uint8 BGR bicubic upscale of the input.
        output (np.ndarray): ``(H, W, 3)`` uint8 BGR model output, same size.
        title (str): Text of the output's label.
        max_width (int): Width of the whole picture at most. Defaults to 1600.

    Returns:
        np.ndarray: The picture, uint8 BGR.
    """
    h, w = output.shape[:2]
    side = max(8, min(h, w) // 4)
    y, x = detail_box(bicubic, side)  # where the content has detail, whatever the model made
    half_w = max_width // 2
    shrink = min(1.0, half_w / w)
    views, zooms = [], []
    for img, text in ((bicubic, 'Bicubic'), (output, title)):
        crop = img[y:y + side, x:x + side]
        view = img.copy()
        cv2.rectangle(view, (x, y), (x + side - 1, y + side - 1), (0, 0, 255),
                      max(1, int(round(2 / shrink))))
        if shrink < 1:
            view = cv2.resize(view, (int(w * shrink), int(h * shrink)),
                              interpolation=cv2.INTER_AREA)
        views.append(_label(view, text))
        zoom = max(1, view.shape[1] // side)
        zooms.append(cv2.resize(crop, (side * zoom, side * zoom), interpolation=cv2.INTER_NEAREST))
    top = np.concatenate(views, axis=1)
    zh = max(z.shape[0] for z in zooms)
    bottom = np.concatenate([
        cv2.copyMakeBorder(z, 0, zh - z.shape[0], 0, views[i].shape[1] - z.shape[1],
                           cv2.BORDER_CONSTANT, value=(32, 32, 32))
        for i, z in enumerate(zooms)
    ], axis=1)
    return np.concatenate([top, bottom], axis=0)


# --------------------------------------------------------------------------- writing
def _atomic_write(path: str, write) -> None:
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + osp.basename(path), suffix='.part')
    try:
        with os.fdopen(fd, 'w', newline='') as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.4f}'


def print_tables(results: dict, method: str) -> None:
    """Print the per-video table and the Table-2-like summary."""
    metrics = results['settings']['metrics']
    rows = [['video', 'frames', 'scored'] + [f'Bicubic {m}' for m in metrics] +
            [f'{method} {m}' for m in metrics]]
    for name, video in results['videos'].items():
        rows.append([name, str(video['num_frames']), str(len(video['scored_frames']))] +
                    [_fmt(video['bicubic'][m]) for m in metrics] +
                    [_fmt(video['model'][m]) for m in metrics])
    rows.append([f'mean ({len(results["videos"])} videos)', '', ''] +
                [_fmt(results['mean']['bicubic'][m]) for m in metrics] +
                [_fmt(results['mean']['model'][m]) for m in metrics])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    line = '  '.join('-' * w for w in widths)
    print(line)
    for i, row in enumerate(rows):
        print('  '.join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0 or i == len(rows) - 2:
            print(line)
    print(line)
    print()
    summary = [['Method'] + list(metrics),
               ['Bicubic'] + [_fmt(results['mean']['bicubic'][m]) for m in metrics],
               [method] + [_fmt(results['mean']['model'][m]) for m in metrics]]
    widths = [max(len(r[i]) for r in summary) for i in range(len(summary[0]))]
    for row in summary:
        print('  '.join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths))))


def write_csv(path: str, results: dict) -> None:
    """One row per method and video, plus the mean rows."""
    metrics = results['settings']['metrics']

    def write(f):
        writer = csv.writer(f)
        writer.writerow(['method', 'video', 'num_frames', 'scored_frames'] + list(metrics))
        for method in ('bicubic', 'model'):
            for name, video in results['videos'].items():
                writer.writerow([method, name, video['num_frames'], len(video['scored_frames'])] +
                                ['' if video[method][m] is None else f'{video[method][m]:.6f}'
                                 for m in metrics])
            writer.writerow([method, 'mean', '', ''] + [
                '' if results['mean'][method][m] is None else f'{results["mean"][method][m]:.6f}'
                for m in metrics])
    _atomic_write(path, write)


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('data_root', help='VideoLQ-layout folder: DATA_ROOT/<video>/<frame>.png')
    p.add_argument('--checkpoint', help='checkpoint path or URL (MMagic or plugin layout)')
    p.add_argument('--config', default=REPO_CONFIG,
                   help='plugin config whose model.generator is built (default: %(default)s)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, e.g. model.generator.mid_channels=32')
    p.add_argument('--random-init', action='store_true',
                   help='run without a checkpoint (random weights): for testing the pipeline')
    p.add_argument('--out-dir', default='work_dirs/videolq_eval', help='where results go')
    p.add_argument('--metrics', nargs='+', default=list(METRICS), choices=METRICS)
    p.add_argument('--frames', default='all',
                   help="frames to score: all, first, middle, last, first_middle_last, or "
                        "comma-separated indices (default: all)")
    p.add_argument('--crop-border', type=int, default=0)
    p.add_argument('--convert-to', default='gray', choices=('gray', 'y'),
                   help='gray as the official releases (default) or Y as PIRM')
    p.add_argument('--refine-thres', type=float, default=5.0,
                   help='test-time theta of dynamic refinement, 0-255 scale (paper: 5 for the '
                        'GAN model, 1.5 without GAN); negative: one pass')
    p.add_argument('--max-passes', type=int, default=3)
    p.add_argument('--max-seq-len', type=int, default=None,
                   help='frames per forward pass (default: the whole video)')
    p.add_argument('--scale', type=int, default=None,
                   help='upscaling factor (default: the network\'s)')
    p.add_argument('--brisque-dir', default=None,
                   help='folder with BRISQUE allmodel/allrange (default: cache or download)')
    p.add_argument('--skip-undefined', action='store_true',
                   help='leave out frames whose score is undefined (e.g. flat frames)')
    p.add_argument('--method-name', default='RealBasicVSR')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def parse_frames(text: str):
    """``--frames``: a selection name or comma-separated indices."""
    from realbasicvsr_plugin.evaluation.metrics.no_reference_metric import (FRAME_SELECTIONS,
                                                                            validate_frames)
    if text in FRAME_SELECTIONS:
        return text
    try:
        indices = [int(v) for v in text.split(',') if v.strip()]
        validate_frames(indices)
    except ValueError:
        raise EvaluationError(f'--frames must be one of {FRAME_SELECTIONS} or comma-separated '
                              f'indices, got {text!r}') from None
    return indices


def evaluate(args: argparse.Namespace) -> dict:
    """Run the evaluation described by the parsed arguments; returns the results dict."""
    from realbasicvsr_plugin.evaluation import select_frames

    if args.max_seq_len is not None and args.max_seq_len < 1:
        raise EvaluationError(f'--max-seq-len must be >= 1, got {args.max_seq_len}')
    if args.crop_border < 0:
        raise EvaluationError(f'--crop-border must be >= 0, got {args.crop_border}')
    frames_spec = parse_frames(args.frames)
    videos = list_videos(args.data_root)
    scorer = FrameScorer(args.metrics, args.crop_border, args.convert_to, args.brisque_dir,
                         args.skip_undefined)
    thres = None if args.refine_thres is not None and args.refine_thres < 0 else args.refine_thres
    net = build_model(args.config, args.checkpoint, args.random_init, thres, args.max_passes,
                      args.cfg_options, args.device)
    scale = args.scale or getattr(net, 'scale', 4)
    os.makedirs(osp.join(args.out_dir, 'compare'), exist_ok=True)

    results = dict(
        settings=dict(data_root=osp.abspath(args.data_root), checkpoint=args.checkpoint,
                      config=args.config, random_init=args.random_init, metrics=args.metrics,
                      frames=frames_spec, crop_border=args.crop_border,
                      convert_to=args.convert_to, refine_thres=thres,
                      max_passes=args.max_passes, max_seq_len=args.max_seq_len, scale=scale),
        videos={}, mean={})
    for name, paths in videos:
        start = time.perf_counter()
        frames = read_frames(paths, name)
        try:
            picks = select_frames(len(frames), frames_spec)
        except ValueError as err:
            raise EvaluationError(f"video '{name}': {err}") from err
        show = picks[len(picks) // 2]
        scores = {'bicubic': [], 'model': []}
        picture = None
        for idx, out in enumerate(super_resolve(net, frames, args.max_seq_len, args.device)):
            if idx not in picks:
                continue
            bic = bicubic_upscale(frames[idx], scale)
            if bic.shape != out.shape:
                raise EvaluationError(f'the network returned {out.shape[1]}x{out.shape[0]} for '
                                      f'x{scale} of {frames.shape[2]}x{frames.shape[1]}: '
                                      'set --scale to the network\'s factor')
            where = f"video '{name}', frame {idx} ({osp.basename(paths[idx])})"
            scores['bicubic'].append(scorer(bic, f'bicubic {where}'))
            scores['model'].append(scorer(out, where))
            if idx == show:
                picture = side_by_side(bic, out, args.method_name)
        cv2.imwrite(osp.join(args.out_dir, 'compare', f'{name}.png'), picture)
        results['videos'][name] = dict(
            num_frames=len(frames), scored_frames=picks, compare_image=f'compare/{name}.png',
            bicubic={m: mean_or_none([s[m] for s in scores['bicubic']]) for m in args.metrics},
            model={m: mean_or_none([s[m] for s in scores['model']]) for m in args.metrics},
            seconds=round(time.perf_counter() - start, 3))
        print(f'  {name}: {len(frames)} frames, {len(picks)} scored, '
              f'{results["videos"][name]["seconds"]:.1f} s')
    for method in ('bicubic', 'model'):
        results['mean'][method] = {
            m: mean_or_none([v[method][m] for v in results['videos'].values()])
            for m in args.metrics
        }
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        results = evaluate(args)
    except EvaluationError as err:
        print(f'evaluate_videolq: error: {err}', file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001  (model loading and download errors, named)
        from realbasicvsr_plugin.apis.errors import InferenceError
        from realbasicvsr_plugin.evaluation import (ChecksumError, ModelFileUnavailableError,
                                                    NRQMUnavailableError)
        from realbasicvsr_plugin.models import CheckpointError
        known = (InferenceError, CheckpointError, ChecksumError, ModelFileUnavailableError,
                 NRQMUnavailableError)
        if isinstance(err, known):
            print(f'evaluate_videolq: error: {err}', file=sys.stderr)
            return 2
        raise
    print()
    print_tables(results, args.method_name)
    _atomic_write(osp.join(args.out_dir, 'results.json'),
                  lambda f: json.dump(results, f, indent=2))
    write_csv(osp.join(args.out_dir, 'results.csv'), results)
    print(f'\nresults: {osp.join(args.out_dir, "results.json")}, '
          f'{osp.join(args.out_dir, "results.csv")}; pictures: {osp.join(args.out_dir, "compare")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
