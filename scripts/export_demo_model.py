#!/usr/bin/env python
"""Export a trained checkpoint of the demo configs as the package's demo model.

Writes ``realbasicvsr_plugin/weights/realbasicvsr_demo.pth`` (the EMA generator's weights in
float16, a few MB, with training metadata), ``SHA256SUMS`` (its checksum, which the loader
verifies it by) and ``realbasicvsr_demo_config.py`` beside it (a
self-contained inference config dumped by ``mmengine.Config``: the inference config
``configs/realbasicvsr_x4_inference.py`` with the generator as trained and the test-time theta
``--thres``). The export is loaded back strictly into the network its config builds, and float16
storage is checked not to change the output by more than 0.5 levels.

    python scripts/export_demo_model.py <work dir>/iter_500.pth \\
        --config configs/realbasicvsr_demo_stage2.py

``--warm-start OUT`` goes the other way: it writes the shipped (or ``checkpoint``) generator as a
checkpoint of the training config (``generator`` and ``generator_ema``), to start a training run
from it with ``--cfg-options load_from=OUT``.
"""
import argparse
from pathlib import Path

import torch
from mmengine.config import Config

from realbasicvsr_plugin import config_path
from realbasicvsr_plugin.apis import build_generator
from realbasicvsr_plugin.apis.model_loading import SHIPPED_SUMS
from realbasicvsr_plugin.cache import sha256_of
from realbasicvsr_plugin.models import load_checkpoint
from realbasicvsr_plugin.models.checkpoint import (extract_generator_state_dict,
                                                   load_state_dict_file)

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / 'realbasicvsr_plugin' / 'weights'

HEADER = '''# The demo model's inference config (dumped by scripts/export_demo_model.py with
# mmengine.Config) for {checkpoint} of configs/{config}; see docs/demo_model.md.
# A demo, not the official RealBasicVSR weights.
'''

def inference_config(generator: dict) -> Config:
    """The self-contained inference config of a generator.

    It is ``configs/realbasicvsr_x4_inference.py`` (usable by MMagic's own inferencer too:
    ``mmagic_inference_demo.py --model-config <this file>``) with ``generator`` as its network.

    Args:
        generator: Generator config (``RealBasicVSRNet`` arguments with ``type``).

    Returns:
        Config: ``default_scope``, ``model``, ``test_pipeline``, ``demo_pipeline`` and
        ``inference_cfg``.
    """
    cfg = Config.fromfile(str(config_path('realbasicvsr_x4_inference.py')))
    cfg.model.generator = generator
    return cfg


def write_inference_config(generator: dict, path: Path, header: str = '') -> None:
    """Dump :func:`inference_config` with ``mmengine.Config`` to a Python file.

    ``demo_pipeline`` is the same list as ``test_pipeline``; the file says so in its last line
    (``demo_pipeline = test_pipeline``, as the inference config does) instead of a second copy.

    Args:
        generator: Generator config (``RealBasicVSRNet`` arguments with ``type``).
        path: The ``.py`` file to write.
        header: Comment lines put before the dump. Defaults to ''.
    """
    cfg = inference_config(generator).to_dict()
    if cfg.pop('demo_pipeline') != cfg['test_pipeline']:
        raise ValueError('the inference config has a demo_pipeline other than its test_pipeline')
    Config(cfg).dump(str(path))
    path.write_text(header + path.read_text() + 'demo_pipeline = test_pipeline\n')


def max_fp16_change(net: torch.nn.Module, state: dict) -> float:
    """Largest output change (0-255 levels) from storing ``state`` in float16, on a test clip."""
    gen = torch.Generator().manual_seed(0)
    clip = torch.nn.functional.interpolate(torch.rand(6, 3, 12, 16, generator=gen), (48, 64),
                                           mode='bicubic').clamp(0, 1).unsqueeze(0)
    outs = []
    for weights in (state, {k: (v.half().float() if v.is_floating_point() else v)
                            for k, v in state.items()}):
        net.load_state_dict(weights, strict=True)
        with torch.inference_mode():
            outs.append(net.eval()(clip))
    return float((outs[0] - outs[1]).abs().max() * 255)


def export(args) -> None:
    """Write the float16 weights and the inference config (see the module docstring)."""
    cfg = Config.fromfile(str(args.config))
    generator = cfg.model.generator.to_dict()
    generator.update(type='realbasicvsr_plugin.RealBasicVSRNet', dynamic_refine_thres=args.thres,
                     spynet_pretrained=None, is_fix_cleaning=False)
    ckpt = load_state_dict_file(args.checkpoint)
    state = extract_generator_state_dict(ckpt, prefer_ema=True)
    change = max_fp16_change(build_generator(generator), state)
    if change > 0.5:
        raise SystemExit(f'error: float16 storage changes the output by {change:.2f} levels')
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    meta = dict(source=str(args.checkpoint.name), iter=ckpt.get('meta', {}).get('iter'),
                config=args.config.name, note='demo model; EMA generator weights in float16')
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / 'realbasicvsr_demo.pth'
    torch.save(dict(state_dict=half, meta=meta), weights)
    config = args.out / 'realbasicvsr_demo_config.py'
    write_inference_config(generator, config,
                           HEADER.format(checkpoint=args.checkpoint.name, config=args.config.name))
    digest = sha256_of(weights)
    # the list the loader verifies shipped checkpoints by (model_loading.SHIPPED_SUMS)
    (args.out / SHIPPED_SUMS).write_text(f'{digest}  {weights.name}\n')
    # the export loads strictly into the network its config builds
    net = build_generator(Config.fromfile(str(config)).model.generator)
    load_checkpoint(net, weights)
    print(f'wrote {weights} ({weights.stat().st_size / 2**20:.1f} MiB, sha256 '
          f'{digest}), {args.out / SHIPPED_SUMS} and {config}; '
          f'{sum(v.numel() for v in half.values())} '
          f'parameters; float16 changes the output by at most {change:.3f} levels')


def warm_start(args) -> None:
    """Write a generator as a training checkpoint (``generator.*`` and ``generator_ema.*``)."""
    source = args.checkpoint or WEIGHTS / 'realbasicvsr_demo.pth'
    state = extract_generator_state_dict(load_state_dict_file(source), prefer_ema=True)
    full = {}
    for prefix in ('generator', 'generator_ema'):
        full.update({f'{prefix}.{k}': (v.float() if v.is_floating_point() else v)
                     for k, v in state.items()})
    args.warm_start.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=full, meta=dict(source=str(source))), args.warm_start)
    print(f'wrote {args.warm_start} ({len(state)} generator tensors from {source})')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('checkpoint', type=Path, nargs='?', default=None,
                   help='training checkpoint to export (with --warm-start: default the shipped '
                        'demo model)')
    p.add_argument('--config', type=Path,
                   default=REPO / 'configs' / 'realbasicvsr_demo_stage2.py')
    p.add_argument('--out', type=Path, default=WEIGHTS)
    p.add_argument('--thres', type=float, default=5.0,
                   help='test-time theta of Eq. 5 written into the config (5 for GAN models, as '
                        'in the paper)')
    p.add_argument('--warm-start', type=Path, default=None, metavar='OUT',
                   help='write the generator as a training checkpoint to OUT instead')
    args = p.parse_args(argv)
    if args.warm_start is not None:
        warm_start(args)
    elif args.checkpoint is None:
        p.error('a checkpoint to export is required')
    else:
        export(args)


if __name__ == '__main__':
    main()
