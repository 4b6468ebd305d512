#!/usr/bin/env python
"""The main job on the default that ships with the project (``make demo``).

Restores the bundled low-quality clip (``realbasicvsr_plugin/demo/coffee_lq.mp4``: 48 frames of
96x128, degraded with the plugin's own training degradations and H.264) with the shipped demo
model, streaming it through the same API as the ``realbasicvsr`` command, and writes

* ``outputs/demo_x4.mp4``: the restored 384x512 video;
* ``outputs/demo_compare.png``: the middle frame, bicubic upsampling of the input beside the
  model's output, whole (top) and a crop of the most detailed part enlarged twice (bottom).

The demo model is small and was trained by the project on a CPU (docs/demo_model.md);
for real videos use the official RealBasicVSR weights: ``realbasicvsr in.mp4 out.mp4 --checkpoint
<official checkpoint> --config configs/realbasicvsr_x4_inference.py``.
"""
import argparse
import sys
from pathlib import Path
from typing import Tuple

import av
import cv2
import numpy as np

from realbasicvsr_plugin.apis import InferenceError, default_model, super_resolve

PACKAGE = Path(__file__).resolve().parents[1] / 'realbasicvsr_plugin'
DEFAULT_INPUT = PACKAGE / 'demo' / 'coffee_lq.mp4'


def middle_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format='bgr24') for f in container.decode(video=0)]
    return frames[len(frames) // 2]


def detailed_window(img: np.ndarray, size: Tuple[int, int]) -> Tuple[int, int]:
    """Top-left corner of the ``size`` window of ``img`` with the most edge energy."""
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    energy = np.abs(cv2.Laplacian(gray, cv2.CV_32F))
    h, w = size
    sums = cv2.boxFilter(energy, -1, (w, h), normalize=False, anchor=(0, 0),
                         borderType=cv2.BORDER_CONSTANT)
    valid = sums[:gray.shape[0] - h + 1, :gray.shape[1] - w + 1]
    y, x = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(y), int(x)


def label(img: np.ndarray, text: str) -> np.ndarray:
    """``img`` with ``text`` written in its top-left corner."""
    img = img.copy()
    cv2.putText(img, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
    cv2.putText(img, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    return img


def side_by_side(lq: np.ndarray, sr: np.ndarray, zoom: int = 2) -> np.ndarray:
    """Bicubic | model on the whole frame (top) and a ``zoom``-times enlarged crop (bottom).

    Args:
        lq: The low-quality input frame (BGR uint8).
        sr: The model's output frame (BGR uint8, ``scale`` times larger).
        zoom: Enlargement of the crop (nearest neighbour, so that pixels stay visible).

    Returns:
        np.ndarray: ``(2H, 2W, 3)`` BGR image; the crop, marked on the top row, is the
        ``(H/zoom, W/zoom)`` window of the output with the most edges.
    """
    h, w = sr.shape[:2]
    bicubic = cv2.resize(lq, (w, h), interpolation=cv2.INTER_CUBIC)
    ch, cw = h // zoom, w // zoom
    y, x = detailed_window(sr, (ch, cw))
    top, bottom = [], []
    for text, img in (('input, bicubic x4', bicubic), ('RealBasicVSR demo model x4', sr)):
        crop = cv2.resize(img[y:y + ch, x:x + cw], (cw * zoom, ch * zoom),
                          interpolation=cv2.INTER_NEAREST)
        marked = img.copy()
        cv2.rectangle(marked, (x, y), (x + cw - 1, y + ch - 1), (0, 255, 255), 1)
        top.append(label(marked, text))
        bottom.append(label(np.pad(crop, ((0, h - crop.shape[0]), (0, w - crop.shape[1]), (0, 0))),
                            f'{text}, crop x{zoom}'))
    return np.concatenate([np.concatenate(top, axis=1), np.concatenate(bottom, axis=1)], axis=0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--input', type=Path, default=DEFAULT_INPUT)
    p.add_argument('--out-dir', type=Path, default=Path('outputs'))
    args = p.parse_args(argv)
    try:
        config, checkpoint = default_model()
        output = args.out_dir / 'demo_x4.mp4'
        args.out_dir.mkdir(parents=True, exist_ok=True)
        print(f'restoring {args.input} with the demo model ({checkpoint.name}) ...')
        summary = super_resolve(args.input, output, config=config, checkpoint=str(checkpoint),
                                overwrite=True, progress=True)
    except InferenceError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    compare = args.out_dir / 'demo_compare.png'
    cv2.imwrite(str(compare), side_by_side(middle_frame(args.input), middle_frame(output)))
    passes = '' if summary.mean_passes is None else \
        f', {summary.mean_passes:.2f} cleaning passes per frame on average'
    print(f'{summary.frames} frames of {summary.input_size[0]}x{summary.input_size[1]} -> '
          f'{summary.output_size[0]}x{summary.output_size[1]} in {summary.seconds:.1f} s '
          f'({summary.fps:.2f} frames/s end to end{passes})')
    print(f'wrote {output} and {compare} (middle frame: bicubic | model, whole and a zoomed crop)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
