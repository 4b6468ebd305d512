#!/usr/bin/env python
"""ONNX Runtime (CPU) against the plugin's PyTorch path, in the same run, at 640x360 input.

Both backends run through the same :class:`StreamingInferencer` (one chunk of ``--frames``
frames; the PyTorch network with its inference form: channels_last and the CPU cache tiling)
on the same random frames, alternately for ``--rounds`` rounds, so that the load of a shared
machine falls on both alike. Reported: seconds per frame (median over rounds, and every round),
peak of the cleaning passes, and the largest difference between the two outputs.

    python scripts/benchmark_deploy.py                       # paper-size network, random weights
    python scripts/benchmark_deploy.py --size 360x640 --frames 4 --rounds 2 --json out.json
    python scripts/benchmark_deploy.py --config C --checkpoint K

The network is the paper's architecture with random weights unless ``--config``/``--checkpoint``
are given (speed does not depend on the weights). The graphs are exported into a temporary folder
unless ``--onnx`` names an export of the same network.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_net(args):
    import torch

    from realbasicvsr_plugin.apis import load_model
    from realbasicvsr_plugin.models import RealBasicVSRNet
    if args.config or args.checkpoint:
        net, _ = load_model(args.config, args.checkpoint, device='cpu')
        return net
    torch.manual_seed(0)
    return RealBasicVSRNet(mid_channels=64, num_propagation_blocks=20, num_cleaning_blocks=20,
                           dynamic_refine_thres=5.0, max_passes=3, scale=4).eval()


def time_restore(inferencer, images):
    start = time.perf_counter()
    outs = list(inferencer.restore(images))
    return time.perf_counter() - start, outs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', default='360x640', help='input HxW (default: 360x640)')
    parser.add_argument('--frames', type=int, default=4, help='frames in the chunk (default 4)')
    parser.add_argument('--rounds', type=int, default=2, help='alternating rounds (default 2)')
    parser.add_argument('--dynamic-refine-thres', default=None,
                        help="theta for both backends ('off': one pass; default: the net's)")
    parser.add_argument('--config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--onnx', help='an export folder of the same network (default: export '
                        'into a temporary folder)')
    parser.add_argument('--threads', type=int, default=None, help='ONNX Runtime intra-op '
                        'threads (default: its own choice); torch uses torch.get_num_threads()')
    parser.add_argument('--json', help='write the results here too')
    args = parser.parse_args(argv)
    warnings.simplefilter('ignore')

    import numpy as np
    import onnxruntime as ort
    import torch

    from realbasicvsr_plugin.apis import StreamingInferencer
    from realbasicvsr_plugin.deploy import OnnxRuntimeNet, export_onnx

    h, w = (int(v) for v in args.size.lower().split('x'))
    net = build_net(args)
    tmp = None
    onnx_dir = args.onnx
    export_s = None
    if onnx_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix='rbvsr_onnx_')
        onnx_dir = tmp.name
        began = time.perf_counter()
        export_onnx(net, onnx_dir)
        export_s = time.perf_counter() - began
    ort_net = OnnxRuntimeNet(onnx_dir, providers='cpu', threads=args.threads)
    if not ort_net.matches(net):
        raise SystemExit(f"--onnx '{onnx_dir}' was not exported from this network")

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(args.frames)]
    opts = dict(device='cpu', max_seq_len=args.frames, overlap=0,
                dynamic_refine_thres=args.dynamic_refine_thres)
    runs = {'pytorch': StreamingInferencer(net, **opts),
            'onnxruntime': StreamingInferencer(ort_net, **opts)}
    times = {name: [] for name in runs}
    outputs = {}
    passes = {}
    for _ in range(args.rounds):
        for name, inferencer in runs.items():
            seconds, outs = time_restore(inferencer, images)
            times[name].append(seconds / args.frames)
            outputs[name] = torch.stack(outs)
            passes[name] = inferencer.mean_passes()
    diff = (outputs['pytorch'] - outputs['onnxruntime']).abs().max().item()
    result = dict(
        input=f'{w}x{h}', output=f'{w * net.scale}x{h * net.scale}', frames=args.frames,
        rounds=args.rounds, torch=torch.__version__, onnxruntime=ort.__version__,
        torch_threads=torch.get_num_threads(), ort_threads=args.threads,
        providers=ort_net.provider_names, export_seconds=export_s,
        seconds_per_frame={k: statistics.median(v) for k, v in times.items()},
        every_round=times, mean_passes=passes, max_abs_diff=diff,
        speedup_ort_over_pytorch=statistics.median(times['pytorch']) /
        statistics.median(times['onnxruntime']))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + '\n')
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
