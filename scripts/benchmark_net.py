#!/usr/bin/env python
"""Throughput of the plugin's RealBasicVSRNet against MMagic's, same weights, same input, same passes.

For each input size: ms per frame and microseconds per LR pixel of

* MMagic's net as MMagic ships it (``eval()``, ``torch.no_grad()``, NCHW weights),
* MMagic's net converted to ``channels_last`` (its best configuration on a CPU),
* the plugin's net as built (``eval()``, ``torch.no_grad()``: the same call MMagic's inferencer
  and ``mim test`` make; NHWC weights by construction and the inference schedule),

the speed-ups, the largest difference between the plugin's output and MMagic's ("max|diff|"),
between MMagic's and MMagic's in ``channels_last`` ("CL diff": the rounding of the layout change
alone) and between the plugin's and MMagic's in ``channels_last`` ("diff CL"), and the
convolution throughput reached (the plain network's convolution FLOPs, counted by
``torch.utils.flop_counter``, per second) against the CPU's measured peak (a 64->64 3x3 NHWC convolution on an in-cache map).
The three runs alternate, so background load hits them alike; best of ``--repeat`` each.
Random weights: throughput does not depend on them.

    python scripts/benchmark_net.py                                  # paper net, 90x160
    python scripts/benchmark_net.py --sizes 90x160 360x640 720x1280 --frames 2 --repeat 2
    python scripts/benchmark_net.py --net demo --sizes 90x160 360x640 720x1280
    python scripts/benchmark_net.py --dtype fp32 bf16                # on a CPU that has bf16
    python scripts/benchmark_net.py --device cuda --sizes 180x320 --dtype fp16 bf16
"""
import argparse
import contextlib
import copy
import platform
import time

import torch
import torch.nn.functional as F
from mmagic.models.editors.real_basicvsr.real_basicvsr_net import \
    RealBasicVSRNet as MMagicNet
from torch.utils.flop_counter import FlopCounterMode

from realbasicvsr_plugin.apis.streaming_inferencer import cpu_has_native_bf16
from realbasicvsr_plugin.models import RealBasicVSRNet

DTYPES = dict(fp32=torch.float32, fp16=torch.float16, bf16=torch.bfloat16)
NETS = dict(paper=dict(mid_channels=64, num_propagation_blocks=20, num_cleaning_blocks=20),
            demo=dict(mid_channels=32, num_propagation_blocks=4, num_cleaning_blocks=4))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--net', choices=sorted(NETS), default='paper',
                   help="paper: 64 channels, 20+20 blocks; demo: the shipped demo model's shape")
    p.add_argument('--sizes', nargs='+', default=['90x160'], help='input HxW')
    p.add_argument('--frames', type=int, default=6)
    p.add_argument('--thres', type=float, default=255,
                   help='theta (0-255); 255 gives one pass for both nets, 0 three passes')
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--device', default='cpu')
    p.add_argument('--dtype', nargs='+', default=['fp32'], choices=sorted(DTYPES))
    p.add_argument('--no-channels-last-mmagic', action='store_true',
                   help="skip MMagic's net converted to channels_last")
    return p.parse_args(argv)


def timed(fns, repeat, device):
    """Best time of each function; runs alternate, so background load hits all alike."""
    outs = [fn() for fn in fns]  # warm-up (kernel selection)
    best = [float('inf')] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            if device.type == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.type == 'cuda':
                torch.cuda.synchronize()
            best[k] = min(best[k], time.perf_counter() - start)
    return best, outs


def conv_peak(device) -> float:
    """GFLOP/s of a 64->64 3x3 NHWC convolution on a 45x80 map (in the caches)."""
    w = torch.randn(64, 64, 3, 3, device=device).contiguous(memory_format=torch.channels_last)
    x = torch.randn(1, 64, 45, 80, device=device).contiguous(memory_format=torch.channels_last)
    flops = 2 * 64 * 64 * 9 * 45 * 80
    with torch.inference_mode():
        for _ in range(5):
            F.conv2d(x, w, padding=1)
        best = float('inf')
        for _ in range(30):
            start = time.perf_counter()
            F.conv2d(x, w, padding=1)
            best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def conv_flops(net, lqs) -> float:
    """Convolution FLOPs of the plain computation of ``net`` on ``lqs`` (counted at 90x160-ish
    sizes and scaled by pixels: convolutions are linear in the pixel count)."""
    n, t, c, h, w = lqs.shape
    small = torch.rand(n, min(t, 3), c, 64, 96)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(small)
    per = counter.get_total_flops() / (min(t, 3) * 64 * 96)
    return per * t * h * w


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    kwargs = dict(NETS[args.net], dynamic_refine_thres=args.thres)
    ours = RealBasicVSRNet(**kwargs).to(device).eval()
    theirs = MMagicNet(**kwargs)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    theirs = theirs.to(device).eval()
    theirs_cl = copy.deepcopy(theirs).to(memory_format=torch.channels_last)
    print(f'machine: {platform.processor() or platform.machine()}, '
          f'{torch.get_num_threads()} threads, torch {torch.__version__}, device {device}'
          + (f' ({torch.cuda.get_device_name(device)})' if device.type == 'cuda' else ''))
    peak = conv_peak(device) if device.type == 'cpu' else float('nan')
    print(f'network: {args.net} {NETS[args.net]}, theta {args.thres}; {args.frames} frames; '
          f'measured conv peak (64->64 3x3 NHWC, 45x80 in cache): {peak:.0f} GFLOP/s')
    print(f'{"size":>9} {"dtype":5} {"MMagic":>9} {"MMagic CL":>9} {"plugin":>9}  '
          f'{"us/px":>6} {"vs MMagic":>9} {"vs CL":>6} {"max|diff|":>9} {"CL diff":>8} '
          f'{"diff CL":>8} {"GFLOP/s":>8}')
    for size in args.sizes:
        h, w = (int(v) for v in size.lower().split('x'))
        x = torch.rand(1, args.frames, 3, h, w, device=device)
        flops = conv_flops(theirs, x) if device.type == 'cpu' else float('nan')
        for name in args.dtype:
            dtype = DTYPES[name]
            if device.type == 'cpu' and dtype == torch.float16:
                print(f'{name:6} skipped: float16 is for GPUs')
                continue
            if device.type == 'cpu' and dtype == torch.bfloat16 and not cpu_has_native_bf16():
                print(f'{name:6} skipped: this CPU has no native bfloat16 (AVX512-BF16 or AMX)')
                continue

            def precision():
                if dtype == torch.float32:
                    return contextlib.nullcontext()
                return torch.autocast(device.type, dtype=dtype)

            def call(net):
                def run():
                    with torch.no_grad(), precision():
                        return net(x).float()
                return run

            fns = [call(theirs)]
            if not args.no_channels_last_mmagic:
                fns.append(call(theirs_cl))
            fns.append(call(ours))
            best, outs = timed(fns, args.repeat, device)
            t_mm, t_pl = best[0], best[-1]
            t_cl = best[1] if len(best) == 3 else float('nan')
            diff = (outs[0] - outs[-1]).abs().max().item()
            # MMagic against itself in channels_last: the rounding a layout change alone gives
            # ... and the plugin against MMagic in channels_last
            cl_diff, vs_cl_diff = [(outs[k] - outs[1]).abs().max().item() if len(outs) == 3
                                   else float('nan') for k in (0, 2)]
            px = args.frames * h * w
            print(f'{size:>9} {name:5} {1e3 * t_mm / args.frames:8.0f}ms '
                  f'{1e3 * t_cl / args.frames:8.0f}ms {1e3 * t_pl / args.frames:8.0f}ms  '
                  f'{1e6 * t_pl / px:6.2f} {t_mm / t_pl:8.2f}x {t_cl / t_pl:5.2f}x '
                  f'{diff:9.1e} {cl_diff:8.1e} {vs_cl_diff:8.1e} {flops / t_pl / 1e9:8.0f}',
                  flush=True)


if __name__ == '__main__':
    main()
