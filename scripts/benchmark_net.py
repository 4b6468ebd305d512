#!/usr/bin/env python
"""Throughput of the plugin's RealBasicVSRNet against MMagic's, same weights, same input, same passes.

Prints ms per frame for each, the speed-up, the largest difference between the two outputs, and
the plugin's mean difference from MMagic's fp32 output. MMagic's net runs as MMagic runs it
(``eval()``, ``torch.no_grad()``); the plugin's as the plugin's inference does (``channels_last``
weights, ``torch.inference_mode()``). fp16/bf16 run both under autocast with fp32 weights, as the
plugin's inference does. Random weights: throughput does not depend on them.

    python scripts/benchmark_net.py                        # CPU, 6 frames of 90x160, fp32
    python scripts/benchmark_net.py --dtype fp32 bf16      # bf16 too, on a CPU that has it
    python scripts/benchmark_net.py --device cuda --height 180 --width 320 --dtype fp16 bf16
"""
import argparse
import contextlib
import platform
import time

import torch
from mmagic.models.editors.real_basicvsr.real_basicvsr_net import \
    RealBasicVSRNet as MMagicNet

from realbasicvsr_plugin.apis.streaming_inferencer import cpu_has_native_bf16
from realbasicvsr_plugin.models import RealBasicVSRNet
from realbasicvsr_plugin.models.inference import prepare_for_inference

DTYPES = dict(fp32=torch.float32, fp16=torch.float16, bf16=torch.bfloat16)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--frames', type=int, default=6)
    p.add_argument('--height', type=int, default=90)
    p.add_argument('--width', type=int, default=160)
    p.add_argument('--mid-channels', type=int, default=64)
    p.add_argument('--num-propagation-blocks', type=int, default=20)
    p.add_argument('--num-cleaning-blocks', type=int, default=20)
    p.add_argument('--thres', type=float, default=255,
                   help='theta (0-255); 255 gives one pass for both nets, 0 three passes')
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--device', default='cpu')
    p.add_argument('--dtype', nargs='+', default=['fp32'], choices=sorted(DTYPES))
    return p.parse_args(argv)


def timed_pair(fn_a, fn_b, repeat, device):
    """Best time of each function; runs alternate, so background load hits both alike."""
    out_a, out_b = fn_a(), fn_b()  # warm-up
    best_a = best_b = float('inf')
    for _ in range(repeat):
        for which, fn in (('a', fn_a), ('b', fn_b)):
            if device.type == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.type == 'cuda':
                torch.cuda.synchronize()
            took = time.perf_counter() - start
            if which == 'a':
                best_a = min(best_a, took)
            else:
                best_b = min(best_b, took)
    return best_a, out_a, best_b, out_b


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    kwargs = dict(mid_channels=args.mid_channels,
                  num_propagation_blocks=args.num_propagation_blocks,
                  num_cleaning_blocks=args.num_cleaning_blocks,
                  dynamic_refine_thres=args.thres)
    ours = RealBasicVSRNet(**kwargs)
    theirs = MMagicNet(**kwargs)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    lqs = torch.rand(1, args.frames, 3, args.height, args.width)
    print(f'machine: {platform.processor() or platform.machine()}, '
          f'{torch.get_num_threads()} threads, torch {torch.__version__}, device {device}'
          + (f' ({torch.cuda.get_device_name(device)})' if device.type == 'cuda' else ''))
    print(f'input: {args.frames} frames of {args.height}x{args.width} -> '
          f'{4 * args.height}x{4 * args.width}, theta {args.thres}')
    print(f'{"dtype":6} {"MMagic ms/frame":>16} {"plugin ms/frame":>16} {"speed-up":>9} '
          f'{"max |diff|":>11} {"mean |to fp32|":>12} {"passes":>7}')
    reference = None  # MMagic's fp32 output
    for name in args.dtype:
        dtype = DTYPES[name]
        if device.type == 'cpu' and dtype == torch.float16:
            print(f'{name:6} skipped: float16 is for GPUs')
            continue
        if device.type == 'cpu' and dtype == torch.bfloat16 and not cpu_has_native_bf16():
            print(f'{name:6} skipped: this CPU has no native bfloat16 (AVX512-BF16 or AMX)')
            continue
        # half precisions as the plugin's inference runs them: fp32 weights under autocast
        # (the flow-warping grid stays fp32), for both networks
        mm = theirs.to(device=device).eval()
        pl = prepare_for_inference(ours.to(device=device))
        x = lqs.to(device=device)

        def precision():
            if dtype == torch.float32:
                return contextlib.nullcontext()
            return torch.autocast(device.type, dtype=dtype)

        def run_mmagic():
            with torch.no_grad(), precision():
                return mm(x).float()

        def run_plugin():
            with torch.inference_mode(), precision():
                return pl(x).float()

        t_mm, out_mm, t_pl, out_pl = timed_pair(run_mmagic, run_plugin, args.repeat, device)
        if reference is None:
            with torch.no_grad():
                reference = out_mm if dtype == torch.float32 else mm(x)
        diff = (out_mm - out_pl).abs().max().item()
        to_fp32 = (out_pl - reference).abs().mean().item()
        print(f'{name:6} {1e3 * t_mm / args.frames:16.1f} {1e3 * t_pl / args.frames:16.1f} '
              f'{t_mm / t_pl:8.2f}x {diff:11.2e} {to_fp32:12.2e} '
              f'{pl.last_passes.float().mean().item():7.2f}')


if __name__ == '__main__':
    main()
