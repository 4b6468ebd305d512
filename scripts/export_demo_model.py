#!/usr/bin/env python
"""Export a trained checkpoint of configs/realbasicvsr_demo.py as the package's demo model.

Writes ``realbasicvsr_plugin/weights/realbasicvsr_demo.pth`` (the EMA generator's weights in
float16, a few MB, with training metadata) and ``realbasicvsr_demo_config.py`` beside it (a
self-contained inference config: the generator as trained, with the test-time theta ``--thres``).

    python scripts/export_demo_model.py work_dirs/realbasicvsr_demo/iter_1200.pth
"""
import argparse
from pathlib import Path

import torch
from mmengine.config import Config

from realbasicvsr_plugin.apis import build_generator
from realbasicvsr_plugin.models import load_checkpoint
from realbasicvsr_plugin.cache import sha256_of
from realbasicvsr_plugin.models.checkpoint import (extract_generator_state_dict,
                                                   load_state_dict_file)

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / 'realbasicvsr_plugin' / 'weights'

CONFIG_TEMPLATE = '''# The demo model's inference config (written by scripts/export_demo_model.py).
# Trained with configs/realbasicvsr_demo.py; see docs/demo_model.md. A demo, not the official
# RealBasicVSR weights.
default_scope = 'realbasicvsr_plugin'

model = dict(
    type='realbasicvsr_plugin.RealBasicVSR',
    generator={generator},
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    is_use_ema=True,
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))

# for MMagic's own inferencer (mmagic_inference_demo.py --model-config this file)
test_pipeline = [
    dict(type='GenerateSegmentIndices', interval_list=[1]),
    dict(type='LoadImageFromFile', key='img', channel_order='rgb', imdecode_backend='pillow'),
    dict(type='PackInputs')
]
demo_pipeline = test_pipeline

inference_cfg = dict(max_seq_len='auto', overlap=4, tile='auto', tile_overlap=16)
'''


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('checkpoint', type=Path)
    p.add_argument('--config', type=Path, default=REPO / 'configs' / 'realbasicvsr_demo.py')
    p.add_argument('--out', type=Path, default=WEIGHTS)
    p.add_argument('--thres', type=float, default=5.0,
                   help='test-time theta of Eq. 5 written into the config; the demo model scores '
                        'best with one pass (docs/demo_model.md), which 5 gives on its clips')
    args = p.parse_args(argv)

    cfg = Config.fromfile(str(args.config))
    generator = dict(cfg.model.generator)
    generator.update(type='realbasicvsr_plugin.RealBasicVSRNet',
                     dynamic_refine_thres=args.thres, spynet_pretrained=None)
    ckpt = load_state_dict_file(args.checkpoint)
    state = extract_generator_state_dict(ckpt, prefer_ema=True)
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    meta = dict(source=str(args.checkpoint.name), iter=ckpt.get('meta', {}).get('iter'),
                config=args.config.name, note='demo model; EMA generator weights in float16')
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / 'realbasicvsr_demo.pth'
    torch.save(dict(state_dict=half, meta=meta), weights)
    config = args.out / 'realbasicvsr_demo_config.py'
    fields = ',\n'.join(f'        {k}={v!r}' for k, v in generator.items())
    config.write_text(CONFIG_TEMPLATE.format(generator=f'dict(\n{fields})'))
    # the export loads strictly into the network its config builds
    net = build_generator(Config.fromfile(str(config)).model.generator)
    load_checkpoint(net, weights)
    print(f'wrote {weights} ({weights.stat().st_size / 2**20:.1f} MiB, sha256 '
          f'{sha256_of(weights)}) and {config}; {sum(v.numel() for v in half.values())} '
          'parameters')


if __name__ == '__main__':
    main()
