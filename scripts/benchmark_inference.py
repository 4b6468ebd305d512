#!/usr/bin/env python
"""Benchmarks of streaming inference: memory against video length, throughput, chunk/tile error.

Every measurement runs in a fresh child process, and its peak resident memory is that child's
``ru_maxrss`` (``os.wait4``), so runs do not see each other's memory.

Subcommands::

    # peak RSS at 50 and 400 frames of the same clip (CPU); the streaming target is a ratio <= 1.2
    python scripts/benchmark_inference.py memory [--frames 50 400] [--size 48x64] [--mmagic]

    # frames/s end to end (decode + model + encode) and model only, and MMagic's video
    # inferencer (its demo's code path) on the same clip in the same run
    python scripts/benchmark_inference.py throughput [--frames 10] [--size 90x160]
    python scripts/benchmark_inference.py throughput --device cuda --size 180x320 \\
        --precisions fp32 fp16 bf16       # 720x1280 output on a GPU

    # difference of chunked / tiled results from the whole-clip result
    python scripts/benchmark_inference.py chunk-error [--config C --checkpoint K]

    # real sizes (640x360, 1280x720, 1920x1080 inputs, a few frames each): frames/s end to end
    # and model only, peak RSS under each of --budgets, the chosen chunk
    # length and tiles, and MMagic's inferencer at the first size, in one run
    python scripts/benchmark_inference.py real-sizes [--net demo|paper] [--frames 3] \
        [--sizes 360x640 720x1280 1080x1920] [--budgets default 4G]

The network is the plugin's RealBasicVSRNet with random weights unless ``--config`` and
``--checkpoint`` are given (speed and memory do not depend on the weights; the chunk error does).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ child side
def _quiet_imports():
    warnings.simplefilter('ignore')
    import realbasicvsr_plugin  # noqa: F401


def _build_net(spec: dict):
    import torch

    from realbasicvsr_plugin.apis import default_model, load_model
    if spec.get('demo'):
        net, _ = load_model(*default_model(), device='cpu')
        return net
    if spec.get('config') or spec.get('checkpoint'):
        net, _ = load_model(spec.get('config'), spec.get('checkpoint'), device='cpu')
        return net
    from realbasicvsr_plugin.models import RealBasicVSRNet
    torch.manual_seed(0)
    return RealBasicVSRNet(mid_channels=spec['mid_channels'],
                           num_propagation_blocks=spec['blocks'],
                           num_cleaning_blocks=spec['blocks'],
                           dynamic_refine_thres=None).eval()


def _child(spec: dict) -> dict:
    """Run one measurement described by ``spec`` and return its figures (or the refusal)."""
    _quiet_imports()
    from realbasicvsr_plugin.apis import InferenceError
    try:
        return _measure(spec)
    except InferenceError as err:  # e.g. a budget the smallest work unit does not fit
        return dict(refused=str(err))


def _measure(spec: dict) -> dict:
    import torch
    torch.set_num_threads(spec.get('threads') or torch.get_num_threads())
    kind = spec['kind']
    if kind == 'plugin':
        from realbasicvsr_plugin.apis import super_resolve
        net = _build_net(spec)
        start = time.perf_counter()
        summary = super_resolve(spec['clip'], spec['output'], model=net, device=spec['device'],
                                precision=spec['precision'], max_seq_len=spec['max_seq_len'],
                                overlap=spec['overlap'], tile=spec.get('tile', 0),
                                max_memory=spec.get('max_memory'), overwrite=True,
                                progress=False)
        seconds = time.perf_counter() - start
        return dict(frames=summary.frames, seconds=seconds, plan=summary.plan)
    if kind == 'model':
        return _model_only(spec)
    if kind == 'mmagic':
        return _mmagic(spec)
    raise ValueError(kind)


def _model_only(spec: dict) -> dict:
    """The network alone on the decoded clip, chunk by chunk as the stream would run it
    (no decoding, no encoding)."""
    import torch

    from realbasicvsr_plugin.apis import StreamingInferencer, open_frame_reader
    net = _build_net(spec)
    with open_frame_reader(spec['clip']) as reader:
        frames = [f.image for f in reader]
    inferencer = StreamingInferencer(net, device=spec['device'], precision=spec['precision'],
                                     max_seq_len=spec['max_seq_len'], overlap=spec['overlap'],
                                     tile=spec.get('tile', 0),
                                     max_memory=spec.get('max_memory'))
    plan = inferencer.plan_for(frames[0].shape[:2], num_frames=len(frames))
    inferencer.model_fn(torch.from_numpy(frames[0][None, None, :64, :64].copy()).permute(
        0, 1, 4, 2, 3).float().div(255))  # warm-up (kernel selection)
    sync = torch.cuda.synchronize if inferencer.device.type == 'cuda' else (lambda: None)
    sync()
    start = time.perf_counter()
    n = sum(1 for _ in inferencer.restore(iter(frames)))
    sync()
    seconds = time.perf_counter() - start
    length = plan.max_seq_len or n
    computed = n if length >= n else n + (n - length) // max(1, length - spec['overlap']) * \
        spec['overlap']
    return dict(frames=n, computed_frames=computed, seconds=seconds, plan=plan.describe())


def _mmagic(spec: dict) -> dict:
    """MMagic's own video inferencer (the code path of its demo) with MMagic's RealBasicVSR."""
    from mmagic.apis import MMagicInferencer
    inferencer = MMagicInferencer(model_name='real_basicvsr', model_config=spec['mmagic_config'],
                                  model_ckpt=spec['checkpoint_file'], device=spec['device'])
    start = time.perf_counter()
    inferencer.infer(video=spec['clip'], result_out_dir=spec['output'])
    seconds = time.perf_counter() - start
    return dict(frames=len(list(Path(spec['output']).glob('*.png'))), seconds=seconds)


# ------------------------------------------------------------------ parent side
def run_child(spec: dict) -> dict:
    """Run ``spec`` in a child process; add its peak RSS (MiB) to the result."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.Popen([sys.executable, __file__, '_child', json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()
    if proc.returncode != 0:
        raise RuntimeError(f'{spec["kind"]} run failed:\n{err[-3000:]}')
    result = json.loads(out.strip().splitlines()[-1])
    result['peak_rss_mib'] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def make_clip(path: Path, frames: int, size, fps: int = 25, audio: bool = True) -> Path:
    """A synthetic clip: drifting patterns with noise, H.264 + AAC."""
    sys.path.insert(0, str(REPO / 'tests'))
    from test_inference_utils import moving_frames, write_video
    h, w = size
    chunks = []
    for start in range(0, frames, 50):  # generate in pieces to keep this process small
        chunks.append(moving_frames(min(50, frames - start), h, w, seed=start))
    import numpy as np
    return write_video(path, np.concatenate(chunks), fps=fps, audio='aac' if audio else None,
                       lossless=False)


def parse_size(text: str):
    h, w = (int(v) for v in text.lower().split('x'))
    return h, w


def base_spec(args) -> dict:
    return dict(device=args.device, precision='fp32', mid_channels=args.mid_channels,
                blocks=args.blocks, max_seq_len=args.max_seq_len, overlap=args.overlap,
                config=args.config, checkpoint=args.checkpoint, threads=args.threads,
                demo=getattr(args, 'net', None) == 'demo')


def machine() -> str:
    import platform
    cores = os.cpu_count()
    text = f'{platform.processor() or platform.machine()}, {cores} cores'
    try:
        import torch
        if torch.cuda.is_available():
            text += f', {torch.cuda.get_device_name(0)}'
    except ImportError:
        pass
    return text


def cmd_memory(args) -> None:
    size = parse_size(args.size)
    print(f'# peak RSS vs video length, {size[0]}x{size[1]} input, CPU ({machine()})')
    print(f'# network: mid_channels={args.mid_channels}, blocks={args.blocks}; '
          f'max_seq_len={args.max_seq_len}, overlap={args.overlap}')
    rss = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in args.frames:
            clip = make_clip(tmp / f'clip{n}.mp4', n, size)
            spec = dict(base_spec(args), kind='plugin', clip=str(clip),
                        output=str(tmp / f'out{n}.mp4'))
            r = run_child(spec)
            rss[n] = r['peak_rss_mib']
            print(f'plugin  {n:5d} frames: peak RSS {r["peak_rss_mib"]:8.1f} MiB, '
                  f'{r["frames"] / r["seconds"]:.2f} frames/s')
            if args.mmagic:
                ckpt, cfg = mmagic_model_files(tmp, args)
                m = run_child(dict(spec, kind='mmagic', output=str(tmp / f'mm{n}'),
                                   mmagic_config=str(cfg), checkpoint_file=str(ckpt)))
                print(f'MMagic  {n:5d} frames: peak RSS {m["peak_rss_mib"]:8.1f} MiB, '
                      f'{m["frames"] / m["seconds"]:.2f} frames/s')
    lo, hi = min(args.frames), max(args.frames)
    ratio = rss[hi] / rss[lo]
    print(f'ratio {hi}/{lo} frames: {ratio:.3f} (target <= 1.2: '
          f'{"met" if ratio <= 1.2 else "NOT met"})')


def mmagic_model_files(tmp: Path, args):
    """A checkpoint of the benchmarked network in MMagic's layout and a config for MMagic.

    The config is MMagic's own RealBasicVSR config with the generator resized to the benchmarked
    network (MMagic's classes under MMagic's scope), so MMagic runs its own implementation.
    """
    import torch
    ckpt = tmp / 'bench.pth'
    cfg = tmp / 'mmagic_config.py'
    if ckpt.exists():
        return ckpt, cfg
    warnings.simplefilter('ignore')
    net = _build_net(base_spec(args))
    state = {}
    for prefix in ('generator.', 'generator_ema.'):
        state.update({prefix + k: v for k, v in net.state_dict().items()})
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    import mmagic
    base = Path(mmagic.__file__).parent / '.mim' / 'configs' / 'real_basicvsr' / \
        'realbasicvsr_c64b20-1x30x8_8xb1-lr5e-5-150k_reds.py'
    cfg.write_text(
        f'_base_ = [{str(base)!r}]\n'
        'model = dict(generator=dict(type="RealBasicVSRNet", '
        f'mid_channels={args.mid_channels}, num_propagation_blocks={args.blocks}, '
        f'num_cleaning_blocks={args.blocks}, dynamic_refine_thres=255, '
        'spynet_pretrained=None), perceptual_loss=None, gan_loss=None, discriminator=None)\n')
    return ckpt, cfg


def cmd_throughput(args) -> None:
    size = parse_size(args.size)
    print(f'# throughput, {args.frames} frames of {size[0]}x{size[1]} -> '
          f'{size[0] * 4}x{size[1] * 4}, device {args.device} ({machine()})')
    print(f'# network: mid_channels={args.mid_channels}, blocks={args.blocks} (random weights, '
          f'one cleaning pass); max_seq_len={args.max_seq_len}, overlap={args.overlap}')
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = make_clip(tmp / 'clip.mp4', args.frames, size)
        for precision in args.precisions:
            spec = dict(base_spec(args), clip=str(clip), precision=precision)
            e2e = run_child(dict(spec, kind='plugin', output=str(tmp / 'out.mp4')))
            model = run_child(dict(spec, kind='model'))
            print(f'plugin {precision}: end to end {e2e["frames"] / e2e["seconds"]:.3f} '
                  f'frames/s (peak RSS {e2e["peak_rss_mib"]:.0f} MiB); model only '
                  f'{model["computed_frames"] / model["seconds"]:.3f} frames/s computed, '
                  f'{model["frames"] / model["seconds"]:.3f} frames/s of video '
                  f'(chunk overlap recomputes {model["computed_frames"] - model["frames"]} '
                  'frames)')
        if not args.no_mmagic:
            ckpt, cfg = mmagic_model_files(tmp, args)
            m = run_child(dict(base_spec(args), kind='mmagic', clip=str(clip),
                               output=str(tmp / 'mmagic_out'), mmagic_config=str(cfg),
                               checkpoint_file=str(ckpt)))
            print(f'MMagic video inferencer (fp32, whole clip in memory, PNG output): '
                  f'{m["frames"] / m["seconds"]:.3f} frames/s (peak RSS '
                  f'{m["peak_rss_mib"]:.0f} MiB)')


def cmd_chunk_error(args) -> None:
    """Mean and max |chunked or tiled - whole clip| of the restored frames (0-1 scale)."""
    warnings.simplefilter('ignore')
    import torch
    sys.path.insert(0, str(REPO / 'tests'))
    from test_inference_utils import moving_frames

    from realbasicvsr_plugin.apis import StreamingInferencer
    size = parse_size(args.size)
    frames = moving_frames(args.frames, *size, seed=7)
    net = _build_net(base_spec(args))
    print(f'# |chunked/tiled - whole clip|, {args.frames} frames of {size[0]}x{size[1]} '
          f'({machine()}); network: '
          + ('given checkpoint' if args.checkpoint else
             f'random weights, mid_channels={args.mid_channels}, blocks={args.blocks}'))

    def run(**options):
        inf = StreamingInferencer(net, device=args.device, **options)
        return torch.stack(list(inf.restore(iter(frames))))

    whole = run(max_seq_len=0, tile=0)
    for label, options in [
            ('chunks of 8, overlap 0', dict(max_seq_len=8, overlap=0)),
            ('chunks of 8, overlap 2', dict(max_seq_len=8, overlap=2)),
            ('chunks of 8, overlap 4', dict(max_seq_len=8, overlap=4)),
            (f'tiles of {args.tile}, overlap 0', dict(max_seq_len=0, tile=args.tile,
                                                      tile_overlap=0)),
            (f'tiles of {args.tile}, overlap 8', dict(max_seq_len=0, tile=args.tile,
                                                      tile_overlap=8)),
            (f'tiles of {args.tile}, overlap 16', dict(max_seq_len=0, tile=args.tile,
                                                       tile_overlap=16))]:
        diff = (run(**options) - whole).abs()
        print(f'{label:28s} mean {diff.mean().item():.2e}  max {diff.max().item():.2e}  '
              f'(= {diff.max().item() * 255:.2f} grey levels)')


def cmd_real_sizes(args) -> None:
    """The table of docs/benchmarks.md "Real sizes"."""
    if args.net == 'demo':
        args.mid_channels, args.blocks = 32, 4
    args.max_seq_len = 'auto'
    print(f'# real sizes, {args.frames} frames each, {args.net} network, device {args.device} '
          f'({machine()}); plan = chosen chunk length and tiles')
    print('| input | budget | end to end frames/s | model only frames/s | peak RSS | plan |')
    print('| --- | --- | --- | --- | --- | --- |')
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for k, size in enumerate(args.sizes):
            h, w = parse_size(size)
            clip = make_clip(tmp / f'clip{k}.mp4', args.frames, (h, w))
            spec = dict(base_spec(args), clip=str(clip), tile='auto')
            for budget in (None if b == 'default' else b for b in args.budgets):
                e2e = run_child(dict(spec, kind='plugin', output=str(tmp / 'out.mp4'),
                                     max_memory=budget))
                if 'refused' in e2e:
                    print(f'| {w}x{h} | {budget or "default"} | refused before any work: '
                          f'{e2e["refused"]} | | {e2e["peak_rss_mib"]:.0f} MiB | |', flush=True)
                    continue
                model = run_child(dict(spec, kind='model', max_memory=budget))
                print(f'| {w}x{h} | {budget or "default"} | '
                      f'{e2e["frames"] / e2e["seconds"]:.3f} | '
                      f'{model["frames"] / model["seconds"]:.3f} | '
                      f'{e2e["peak_rss_mib"]:.0f} MiB | {e2e["plan"]} |', flush=True)
                if k == 0 and budget is None and not args.no_mmagic:
                    ckpt, cfg = mmagic_model_files(tmp, args)
                    m = run_child(dict(spec, kind='mmagic', output=str(tmp / 'mmagic_out'),
                                       mmagic_config=str(cfg), checkpoint_file=str(ckpt)))
                    print(f"| {w}x{h} | MMagic's inferencer (whole clip, PNG out) | "
                          f'{m["frames"] / m["seconds"]:.3f} | | {m["peak_rss_mib"]:.0f} MiB | '
                          '|', flush=True)


def main(argv=None) -> None:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == '_child':
        print(json.dumps(_child(json.loads(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p, size, frames, mid, blocks):
        p.add_argument('--size', default=size, help='input HxW')
        p.add_argument('--frames', type=int, nargs='+' if isinstance(frames, list) else None,
                       default=frames)
        p.add_argument('--device', default='cpu')
        p.add_argument('--mid-channels', type=int, default=mid)
        p.add_argument('--blocks', type=int, default=blocks,
                       help='cleaning blocks and propagation blocks per branch')
        p.add_argument('--max-seq-len', type=int, default=32)
        p.add_argument('--overlap', type=int, default=4)
        p.add_argument('--config')
        p.add_argument('--checkpoint')
        p.add_argument('--threads', type=int, default=None)

    m = sub.add_parser('memory', help='peak RSS at two video lengths')
    common(m, '48x64', [50, 400], 64, 2)
    m.add_argument('--mmagic', action='store_true', help="also measure MMagic's inferencer")
    t = sub.add_parser('throughput', help='frames per second')
    common(t, '90x160', 10, 64, 20)
    t.add_argument('--precisions', nargs='+', default=['fp32'], choices=['fp32', 'fp16', 'bf16'])
    t.add_argument('--no-mmagic', action='store_true')
    c = sub.add_parser('chunk-error', help='difference of chunked/tiled from whole-clip output')
    common(c, '128x128', 16, 64, 2)
    c.add_argument('--tile', type=int, default=64, help='tile size for the tiled runs')
    r = sub.add_parser('real-sizes', help='360p-1080p inputs: speed, memory and plans')
    common(r, '360x640', 3, 64, 20)
    r.add_argument('--sizes', nargs='+', default=['360x640', '720x1280', '1080x1920'])
    r.add_argument('--net', choices=['demo', 'paper'], default='demo',
                   help='demo: the shipped demo model; paper: 64 channels, 20 + 20 blocks')
    r.add_argument('--budgets', nargs='+', default=['default', '4G'],
                   help="the memory budgets measured ('default': the command's own)")
    r.add_argument('--no-mmagic', action='store_true')
    args = parser.parse_args(argv)
    {'memory': cmd_memory, 'throughput': cmd_throughput, 'chunk-error': cmd_chunk_error,
     'real-sizes': cmd_real_sizes}[args.command](args)


if __name__ == '__main__':
    main()
