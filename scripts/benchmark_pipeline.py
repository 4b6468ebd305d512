#!/usr/bin/env python
"""Time RealBasicVSR's training data pipeline: conventional vs stochastic scheme, plugin vs MMagic.

One training sample is a clip of L frames (L = 30 in the paper). The pipeline is MMagic's
RealBasicVSR training pipeline (crop 256, flips, transpose, unsharp masking, the second-order
degradations, the shuffled last stage, clip to [0, 255]) run twice:

* ``conventional``: the dataset loads L frames; every degradation parameter is drawn once per
  clip (all random-walk steps 0);
* ``stochastic``: the dataset loads L/2 frames, ``MirrorSequence`` extends them to L, and the
  degradation parameters random-walk from frame to frame with the paper's steps.

Each scheme runs with MMagic's own transforms (default scope ``mmagic``) and with the plugin's
(default scope ``realbasicvsr_plugin``), same settings, same frames, same seeds. Video
compression is left out of that comparison because MMagic's fails on PyAV >= 14; the plugin's is
timed on its own, per 15-frame 64x64 clip, and inside a whole plugin sample.

A modelled read latency per frame (``--latency-ms``) stands for networked storage, where the
paper measured its 40% saving: each frame read then costs that much more.

Frames are 480x480 PNGs, written to a temporary folder unless ``--frames-dir`` names a folder of
``<clip>/<8-digit index>.png`` frames. Threads: OpenCV and torch are limited to ``--threads``
(1 by default, as in a data-loader worker).

The degradations drawn differ from sample to sample (kernel type and size, noise type, scales),
so the figures are means over ``--samples`` samples; the two implementations run interleaved.

With ``--loader-workers`` it instead times whole training batches from the data loader that
MMEngine's runner builds from ``configs/realbasicvsr_stage1.py`` (the paper's pipeline with both
video compressions, L = 30 with 15 frames loaded, 64x64 LQ patches), for each number of
workers: samples per second, the worker start excluded, the worker counts alternated over
``--loader-rounds`` rounds.

Example::

    python scripts/benchmark_pipeline.py --samples 20 --latency-ms 0 10 20
    python scripts/benchmark_pipeline.py --loader-workers 0 1 2 --loader-batches 6
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import realbasicvsr_plugin  # noqa: F401  (registers the plugin's transforms)
from mmagic.registry import TRANSFORMS as MMAGIC_TRANSFORMS
from realbasicvsr_plugin.datasets.transforms import realbasicvsr_degradation_cfgs
from realbasicvsr_plugin.registry import TRANSFORMS as PLUGIN_TRANSFORMS

CLIP_NAME = '000'


def make_frames(root: str, num_frames: int, size: int, seed: int = 0) -> None:
    """Write a synthetic clip of textured, moving PNG frames.

    Args:
        root (str): The folder to write ``000/00000000.png`` ... into.
        num_frames (int): The number of frames.
        size (int): Height and width.
        seed (int): Seed of the texture.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, CLIP_NAME), exist_ok=True)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (size + num_frames, size + num_frames, 3)),
                               (0, 0), 3)
    texture = (texture - texture.min()) / (texture.max() - texture.min()) * 255
    for i in range(num_frames):
        frame = texture[i:i + size, i:i + size].copy()
        cv2.rectangle(frame, (40 + i, 60), (size // 2 + i, size // 2), (20, 200, 90), 3)
        cv2.putText(frame, f'frame {i}', (size // 5, size * 2 // 3), cv2.FONT_HERSHEY_SIMPLEX, 2,
                    (255, 255, 255), 3)
        frame += rng.normal(0, 3, frame.shape)
        cv2.imwrite(osp.join(root, CLIP_NAME, f'{i:08d}.png'),
                    np.clip(frame, 0, 255).astype(np.uint8))


class ReadLatency:
    """Wrap a loading transform so that every frame it reads costs ``latency`` more seconds.

    Args:
        load (Callable): The loading transform.
        key (str): The key whose ``<key>_path`` lists the frames.
        latency (float): Seconds per frame.
    """

    def __init__(self, load: Callable, key: str, latency: float) -> None:
        self.load, self.key, self.latency = load, key, latency

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        paths = results[f'{self.key}_path']
        if self.latency > 0:
            time.sleep(self.latency * (len(paths) if isinstance(paths, list) else 1))
        return self.load(results)


def mmagic_cfg(cfg: Any) -> Any:
    """Drop the plugin-only ``channel_order`` arguments (MMagic's transforms assume RGB)."""
    if isinstance(cfg, dict):
        return {k: mmagic_cfg(v) for k, v in cfg.items() if k != 'channel_order'}
    if isinstance(cfg, list):
        return [mmagic_cfg(v) for v in cfg]
    return cfg


def pipeline_cfgs(stochastic: bool, crop: int, scale: int,
                  video_compression: bool) -> Tuple[List[dict], List[dict]]:
    """The loading and the augmenting/degrading parts of the training pipeline.

    Args:
        stochastic (bool): The stochastic scheme (mirror + random walks) or the conventional one.
        crop (int): GT crop size.
        scale (int): Super-resolution scale (LQ size = crop / scale).
        video_compression (bool): Include video compression.

    Returns:
        tuple[list[dict], list[dict]]: Loading configs and processing configs.
    """
    load = [
        dict(type='GenerateSegmentIndices', interval_list=[1]),
        dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    ]
    process = [
        dict(type='FixedCrop', keys=['gt'], crop_size=(crop, crop)),
        dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
        dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='vertical'),
        dict(type='RandomTransposeHW', keys=['gt'], transpose_ratio=0.5),
    ]
    if stochastic:
        process.append(dict(type='MirrorSequence', keys=['gt']))
    process += [
        dict(type='UnsharpMasking', keys=['gt'], kernel_size=51, sigma=0, weight=0.5,
             threshold=10),
        dict(type='CopyValues', src_keys=['gt_unsharp'], dst_keys=['img']),
    ]
    process += realbasicvsr_degradation_cfgs(
        keys=['img'], target_size=(crop // scale, crop // scale), stochastic=stochastic,
        video_compression=video_compression)
    process.append(dict(type='Clip', keys=['img']))
    return load, process


class Pipeline:
    """A built pipeline, split into its loading and processing parts.

    Args:
        scope (str): ``'mmagic'`` or ``'realbasicvsr_plugin'``.
        load_cfgs (list[dict]): Loading configs.
        process_cfgs (list[dict]): Processing configs.
        latency (float): Modelled read latency per frame, in seconds.
    """

    def __init__(self, scope: str, load_cfgs: List[dict], process_cfgs: List[dict],
                 latency: float) -> None:
        registry = MMAGIC_TRANSFORMS if scope == 'mmagic' else PLUGIN_TRANSFORMS
        if scope == 'mmagic':
            load_cfgs, process_cfgs = mmagic_cfg(load_cfgs), mmagic_cfg(process_cfgs)
        with DefaultScope.overwrite_default_scope(scope):
            self.load = [registry.build(copy.deepcopy(c)) for c in load_cfgs]
            self.process = [registry.build(copy.deepcopy(c)) for c in process_cfgs]
        self.load[-1] = ReadLatency(self.load[-1], 'gt', latency)

    def run(self, results: Dict[str, Any]) -> Tuple[Dict[str, Any], float, float]:
        """Run one sample.

        Args:
            results (dict): The dataset's entry.

        Returns:
            tuple[dict, float, float]: The results, loading seconds and processing seconds.
        """
        start = time.perf_counter()
        for transform in self.load:
            results = transform(results)
        loaded = time.perf_counter()
        for transform in self.process:
            results = transform(results)
        return results, loaded - start, time.perf_counter() - loaded


def time_video_compression(samples: int, seed: int) -> Dict[str, float]:
    """Seconds per 15-frame 64x64 clip of the plugin's RandomVideoCompression, per codec.

    Args:
        samples (int): Clips per codec.
        seed (int): Seed.

    Returns:
        dict[str, float]: Median seconds per clip for each codec and for the random mix.
    """
    params = dict(codec=['libx264', 'h264', 'mpeg4'], codec_prob=[1 / 3] * 3, bitrate=[1e4, 1e5])
    transform = PLUGIN_TRANSFORMS.build(dict(type='RandomVideoCompression', params=params,
                                             keys=['img']))
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (96, 96, 3)).astype(np.float32), (0, 0), 2)
    clip = np.stack([base[i:i + 64, i:i + 64] for i in range(15)]).astype(np.float32)
    timings = {}
    np.random.seed(seed)
    for codec in params['codec'] + ['random']:
        values = []
        for _ in range(samples + 1):
            start = time.perf_counter()
            if codec == 'random':
                transform({'img': list(clip)})
            else:
                transform.compress(clip, codec, 50000)
            values.append(time.perf_counter() - start)
        timings[codec] = statistics.median(values[1:])
    return timings


def loader_throughput(frames_dir: str, workers: List[int], batches: int, batch_size: int,
                      rounds: int, seed: int) -> Tuple[Dict[int, List[float]], float]:
    """Training samples per second of the stage-1 config's data loader, per number of workers.

    Args:
        frames_dir (str): Folder of ``<clip>/<index>.png`` frames.
        workers (list[int]): Numbers of loader workers to time.
        batches (int): Timed batches per round (after one untimed batch: the workers' start).
        batch_size (int): Samples per batch (the paper's 16 over 8 GPUs is 2 per GPU).
        rounds (int): Rounds; each times every worker count once, in turn.
        seed (int): Seed of the loaders.

    Returns:
        tuple[dict[int, list[float]], float]: Samples per second of each round, per number of
        workers; and the CPU seconds per sample in the main process without workers (what one
        sample costs one core, whatever else loads the machine).
    """
    cfg = Config.fromfile(str(realbasicvsr_plugin.config_path('realbasicvsr_stage1.py')))
    loader_cfg = cfg.train_dataloader.to_dict()
    loader_cfg['dataset'].update(data_root=frames_dir, data_prefix=dict(img='', gt=''))
    loader_cfg.update(batch_size=batch_size, persistent_workers=False)
    rates: Dict[int, List[float]] = {w: [] for w in workers}
    cpu: List[float] = []
    with DefaultScope.overwrite_default_scope('realbasicvsr_plugin'):
        for _ in range(rounds):
            for num_workers in workers:
                loader = Runner.build_dataloader(dict(copy.deepcopy(loader_cfg),
                                                      num_workers=num_workers), seed=seed)
                it = iter(loader)
                batch = next(it)  # starts the workers
                shape = tuple(batch['inputs'][0].shape)
                assert len(batch['inputs']) == batch_size and shape == (30, 3, 64, 64), shape
                start, start_cpu = time.perf_counter(), time.process_time()
                for _ in range(batches):
                    next(it)
                rates[num_workers].append(batches * batch_size / (time.perf_counter() - start))
                if num_workers == 0:
                    cpu.append((time.process_time() - start_cpu) / (batches * batch_size))
                del it, loader
    return rates, statistics.mean(cpu) if cpu else float('nan')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames-dir', help='folder with <clip>/<index>.png frames '
                        '(default: synthetic 480x480 frames in a temporary folder)')
    parser.add_argument('--num-frames', type=int, default=30, help='L, frames per sample')
    parser.add_argument('--crop', type=int, default=256, help='GT crop size')
    parser.add_argument('--scale', type=int, default=4, help='super-resolution scale')
    parser.add_argument('--samples', type=int, default=20,
                        help='timed samples per setting (the degradations drawn vary from sample '
                        'to sample: the figures are means)')
    parser.add_argument('--latency-ms', type=float, nargs='+', default=[0, 10, 20],
                        help='modelled read latency per frame, in ms')
    parser.add_argument('--threads', type=int, default=1, help='OpenCV and torch threads')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--loader-workers', type=int, nargs='+',
                        help='time the stage-1 data loader with these numbers of workers instead')
    parser.add_argument('--loader-batches', type=int, default=6,
                        help='timed batches per worker count and round')
    parser.add_argument('--loader-batch-size', type=int, default=2,
                        help='samples per batch (2: the paper\'s 16 over 8 GPUs)')
    parser.add_argument('--loader-rounds', type=int, default=2)
    args = parser.parse_args()
    if args.num_frames % 2:
        parser.error('--num-frames must be even (the stochastic scheme loads half of them)')
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        frames_dir = args.frames_dir
        if frames_dir is None:
            frames_dir = tmp
            make_frames(tmp, args.num_frames + 10, 480, args.seed)
        clip_dir = osp.join(frames_dir, CLIP_NAME)
        sequence_length = len([f for f in os.listdir(clip_dir) if f.endswith('.png')])
        if args.loader_workers:
            print(f'stage-1 data loader: {clip_dir} ({sequence_length} frames), batch '
                  f'{args.loader_batch_size}, {args.loader_batches} timed batches x '
                  f'{args.loader_rounds} rounds; {args.threads} thread(s) per process; load '
                  f'average {os.getloadavg()[0]:.2f}')
            rates, cpu_per_sample = loader_throughput(
                frames_dir, args.loader_workers, args.loader_batches, args.loader_batch_size,
                args.loader_rounds, args.seed)
            print(f'{"workers":>7} {"samples/s":>9} {"s/sample":>8}  rounds')
            for workers, values in rates.items():
                mean = statistics.mean(values)
                print(f'{workers:>7} {mean:>9.3f} {1 / mean:>8.3f}  '
                      + ' '.join(f'{v:.3f}' for v in values))
            print(f'CPU seconds per sample (0 workers, main process): {cpu_per_sample:.3f}')
            print(f'load average at the end: {os.getloadavg()[0]:.2f}')
            return
        print(f'frames: {clip_dir} ({sequence_length} frames); L = {args.num_frames}, '
              f'crop {args.crop}, LQ {args.crop // args.scale}; {args.samples} samples per '
              f'setting; {args.threads} thread(s); load average {os.getloadavg()[0]:.2f}\n')

        def entry(num_loaded: int) -> Dict[str, Any]:
            return dict(key=CLIP_NAME, img_path=frames_dir, gt_path=frames_dir,
                        sequence_length=sequence_length, num_input_frames=num_loaded)

        # every setting runs once per sample, interleaved, so that a change in the machine's load
        # during the run touches all settings alike; a sample's seed is the same in every setting
        settings = [(latency_ms, scheme, impl) for latency_ms in args.latency_ms
                    for scheme in ('conventional', 'stochastic') for impl in ('mmagic', 'plugin')]
        pipelines, timings = {}, {}
        for latency_ms, scheme, impl in settings:
            load_cfgs, process_cfgs = pipeline_cfgs(scheme == 'stochastic', args.crop, args.scale,
                                                    False)
            scope = 'mmagic' if impl == 'mmagic' else 'realbasicvsr_plugin'
            pipelines[latency_ms, scheme, impl] = Pipeline(scope, load_cfgs, process_cfgs,
                                                           latency_ms / 1000)
            timings[latency_ms, scheme, impl] = ([], [])
        for sample in range(args.samples + 1):  # the first sample warms up
            for setting in settings:
                num_loaded = args.num_frames // (2 if setting[1] == 'stochastic' else 1)
                np.random.seed(args.seed + sample)
                results, load_s, process_s = pipelines[setting].run(entry(num_loaded))
                assert len(results['gt_path']) == num_loaded
                assert len(results['img']) == args.num_frames
                if sample:
                    timings[setting][0].append(load_s)
                    timings[setting][1].append(process_s)
        rows = []
        for (latency_ms, scheme, impl), (load_s, process_s) in timings.items():
            rows.append(dict(latency=latency_ms, scheme=scheme, impl=impl,
                             loaded=args.num_frames // (2 if scheme == 'stochastic' else 1),
                             load=statistics.mean(load_s), process=statistics.mean(process_s),
                             total=statistics.mean(load_s) + statistics.mean(process_s)))

        print('mean seconds per training sample (video compression excluded)')
        print(f'{"latency":>8} {"scheme":>13} {"impl":>7} {"frames read":>11} {"loading":>8} '
              f'{"degrading":>9} {"total":>7}')
        for row in rows:
            print(f'{row["latency"]:>6.0f}ms {row["scheme"]:>13} {row["impl"]:>7} '
                  f'{row["loaded"]:>11d} {row["load"]:>8.3f} {row["process"]:>9.3f} '
                  f'{row["total"]:>7.3f}')

        def total(latency: float, scheme: str, impl: str) -> float:
            return next(r['total'] for r in rows if r['latency'] == latency
                        and r['scheme'] == scheme and r['impl'] == impl)

        print('\nstochastic / conventional time per sample (lower is better)')
        for latency_ms in args.latency_ms:
            ratios = [
                total(latency_ms, 'stochastic', impl) / total(latency_ms, 'conventional', impl)
                for impl in ('mmagic', 'plugin')
            ]
            print(f'  {latency_ms:>4.0f} ms read latency: mmagic {ratios[0]:.2f}, '
                  f'plugin {ratios[1]:.2f}')
        print('\nplugin speed-up over MMagic at equal settings (MMagic time / plugin time)')
        for latency_ms in args.latency_ms:
            speedups = [total(latency_ms, scheme, 'mmagic') / total(latency_ms, scheme, 'plugin')
                        for scheme in ('conventional', 'stochastic')]
            print(f'  {latency_ms:>4.0f} ms read latency: conventional {speedups[0]:.2f}x, '
                  f'stochastic {speedups[1]:.2f}x')

        load_cfgs, process_cfgs = pipeline_cfgs(True, args.crop, args.scale, True)
        full = Pipeline('realbasicvsr_plugin', load_cfgs, process_cfgs, 0)
        full_times = []
        for sample in range(args.samples + 1):
            np.random.seed(args.seed + sample)
            _, load_s, process_s = full.run(entry(args.num_frames // 2))
            if sample:
                full_times.append(load_s + process_s)
        print(f'\nplugin, stochastic, with both video compressions, 0 ms latency: '
              f'{statistics.mean(full_times):.3f} s per sample')

    print('\nplugin RandomVideoCompression, median time per 15-frame 64x64 clip')
    for codec, seconds in time_video_compression(max(args.samples, 5), args.seed).items():
        print(f'  {codec:>8}: {seconds * 1000:.1f} ms')
    print(f'\nload average at the end: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
