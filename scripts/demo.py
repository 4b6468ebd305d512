#!/usr/bin/env python
"""The main job on the default that ships with the project (``make demo``).

Restores the bundled low-quality clip (``realbasicvsr_plugin/demo/coffee_lq.mp4``: 48 frames of
96x128, degraded with the plugin's own training degradations and H.264) with the shipped demo
model, streaming it through the same API as the ``realbasicvsr`` command, and writes

* ``outputs/demo_x4.mp4``: the restored 384x512 video;
* ``outputs/demo_compare.png``: the middle frame, bicubic upsampling beside the model's output.

The demo model is small and was trained by the project on synthetic clips (docs/demo_model.md);
for real videos use the official RealBasicVSR weights: ``realbasicvsr in.mp4 out.mp4 --checkpoint
<official checkpoint> --config configs/realbasicvsr_x4_inference.py``.
"""
import argparse
import sys
from pathlib import Path

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


def side_by_side(lq: np.ndarray, sr: np.ndarray) -> np.ndarray:
    h, w = sr.shape[:2]
    bicubic = cv2.resize(lq, (w, h), interpolation=cv2.INTER_CUBIC)
    panels = []
    for label, img in (('bicubic x4', bicubic), ('RealBasicVSR demo model x4', sr)):
        img = img.copy()
        cv2.putText(img, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
        cv2.putText(img, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        panels.append(img)
    return np.concatenate(panels, axis=1)


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
    print(f'wrote {output} and {compare} (middle frame: bicubic | model)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
