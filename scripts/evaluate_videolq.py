#!/usr/bin/env python
"""Evaluate a RealBasicVSR checkpoint on a VideoLQ-layout folder, like the paper's Table 2.

    python scripts/evaluate_videolq.py data/VideoLQ --checkpoint ckpt.pth [--protocol paper]

The command line over :func:`realbasicvsr_plugin.evaluation.evaluate_videolq`: every video of
``DATA_ROOT/<video>/<frame>.png`` is restored, NIQE and BRISQUE score the chosen frames of the
output and of a MATLAB-bicubic upscale of the input, and the per-video table, the means, the
protocol, ``results.json``, ``results.csv`` and ``compare/<video>.png`` are written to OUT_DIR.
See docs/evaluation.md for the protocols (``release``: the official releases' settings on every
frame; ``paper``: as the authors evaluated).
"""
import argparse
import os.path as osp
import sys

REPO_CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                       'realbasicvsr_x4_videolq.py')
#: parameters of evaluate_videolq/build_model whose flag is not '--' + the name with dashes
PARAM_FLAGS = {'data_root': 'DATA_ROOT', 'dynamic_refine_thres': '--refine-thres',
               'model_dir': '--brisque-dir', 'brisque_dir': '--brisque-dir'}


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction

    from realbasicvsr_plugin.evaluation import METRIC_NAMES, PROTOCOLS
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
    p.add_argument('--protocol', default='release', choices=sorted(PROTOCOLS),
                   help='release: official releases\' settings, every frame (default); paper: '
                        'frames 0/50/99, Y channel, 4-pixel shave, as the authors')
    p.add_argument('--metrics', nargs='+', default=list(METRIC_NAMES), choices=METRIC_NAMES)
    p.add_argument('--frames', default=None,
                   help='frames to score: all, first, middle, last, first_middle_last, or '
                        'comma-separated indices (default: the protocol\'s)')
    p.add_argument('--crop-border', type=int, default=None,
                   help='pixels shaved off each edge (default: the protocol\'s)')
    p.add_argument('--convert-to', default=None, choices=('gray', 'y'),
                   help='plane scored (default: the protocol\'s)')
    p.add_argument('--refine-thres', '--dynamic-refine-thres', dest='refine_thres', default='5',
                   help='test-time theta of dynamic refinement, 0-255 scale (paper: 5 for the '
                        'GAN model, 1.5 without GAN); "off" or negative: one pass')
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


def _refine_threshold(text: str):
    try:
        value = float(text)
    except ValueError:
        return text  # 'off', or a bad value the inferencer names
    return 'off' if value < 0 else value


def _error_line(err: BaseException) -> str:
    import re

    from realbasicvsr_plugin.apis import InferenceError
    text = ' '.join(str(err).split())
    param = getattr(err, 'param', None) if isinstance(err, InferenceError) else None
    if param:
        flag = PARAM_FLAGS.get(param, '--' + param.replace('_', '-'))
        text = re.sub(rf'(?<![\w-]){re.escape(param)}(?![\w-])', flag, text)
    return text


def main(argv=None) -> int:
    args = parse_args(argv)
    from realbasicvsr_plugin.apis import InferenceError
    from realbasicvsr_plugin.evaluation import (ChecksumError, MetricUnavailableError,
                                                ModelFileUnavailableError, build_model,
                                                evaluate_videolq, format_tables, parse_frames,
                                                resolve_protocol, write_results)
    from realbasicvsr_plugin.models import CheckpointError

    def report(name, video, notes):
        for note in notes:
            print(f'  [{name}] {note}')
        print(f"  {name}: {video['num_frames']} frames, {len(video['scored_frames'])} scored, "
              f"{video['seconds']:.1f} s")

    if args.checkpoint is None and not args.random_init:
        print('evaluate_videolq: error: give --checkpoint (or --random-init to test the pipeline '
              'with random weights, whose scores mean nothing)', file=sys.stderr)
        return 2
    try:
        protocol = resolve_protocol(
            args.protocol, frames=None if args.frames is None else parse_frames(args.frames),
            convert_to=args.convert_to, crop_border=args.crop_border)
        net = build_model(args.config, args.checkpoint, args.random_init, args.cfg_options,
                          args.device)
        results = evaluate_videolq(
            args.data_root, net, protocol, metrics=args.metrics, brisque_dir=args.brisque_dir,
            skip_undefined=args.skip_undefined, device=args.device,
            max_seq_len=args.max_seq_len, dynamic_refine_thres=_refine_threshold(args.refine_thres),
            max_passes=args.max_passes, scale=args.scale, method_name=args.method_name,
            on_video=report)
        print()
        print(format_tables(results))
        paths = write_results(results, args.out_dir)
    except (InferenceError, CheckpointError, ChecksumError, ModelFileUnavailableError,
            MetricUnavailableError) as err:
        print(f'evaluate_videolq: error: {_error_line(err)}', file=sys.stderr)
        return 2
    print(f"\nresults: {paths['json']}, {paths['csv']}; pictures: {paths['compare']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
