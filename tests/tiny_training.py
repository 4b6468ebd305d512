"""Tiny data and configs for training tests: real components, toy sizes, no downloads."""
import textwrap
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'

# model_extra for stage 2, offline and small: random VGG features (two layers), a narrow
# discriminator
STAGE2_OFFLINE = (",\n                   perceptual_loss=dict(pretrained=None, "
                  "layer_weights={'2': 0.1, '7': 0.1}),\n"
                  "                   discriminator=dict(mid_channels=4)")


def smooth_frame(rng: np.random.Generator, h: int, w: int, shift: int) -> np.ndarray:
    """A textured uint8 RGB frame; consecutive shifts look like a camera pan."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx += shift
    phase = rng.uniform(0, 6.28, size=3)
    img = np.stack([np.sin(xx / (5 + 3 * c) + phase[c]) * np.cos(yy / (7 + 2 * c))
                    for c in range(3)], -1)
    return np.clip(127.5 + 110 * img, 0, 255).astype(np.uint8)


def make_frames(root: Path, clips: int = 2, frames: int = 4, size=(64, 64), seed=0,
                tmpl: str = '{:08d}.png', lq_scale: int = 0) -> Path:
    """``root/<clip>/<frame>.png`` (and ``root_lq/...`` downsampled by ``lq_scale`` if given)."""
    rng = np.random.default_rng(seed)
    for c in range(clips):
        for i in range(frames):
            img = smooth_frame(rng, size[0], size[1], shift=2 * i + 17 * c)
            out = root / 'GT' / f'{c:03d}' if lq_scale else root / f'{c:03d}'
            out.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out / tmpl.format(i)), img)
            if lq_scale:
                lq = cv2.resize(img, (size[1] // lq_scale, size[0] // lq_scale),
                                interpolation=cv2.INTER_AREA)
                (root / 'LQ' / f'{c:03d}').mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / 'LQ' / f'{c:03d}' / tmpl.format(i)), lq)
    return root


def tiny_editor_checkpoint(path: Path, **generator) -> Path:
    """An editor checkpoint (generator + generator_ema) of a RealBasicVSR with random weights."""
    import torch
    from realbasicvsr_plugin.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='RealBasicVSR', generator=dict(type='RealBasicVSRNet', **generator),
        pixel_loss=dict(type='L1Loss'), is_use_ema=True,
        data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3)))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def tiny_config(base: Path, train_root: Path, val_root: Path, work_dir: Path, max_iters: int = 2,
                val_interval: int = 2, extra: str = '', model_extra: str = '',
                probe_dir: Optional[Path] = None) -> str:
    """A config that inherits a shipped config and shrinks it to toy sizes.

    Overrides: a tiny generator without pretrained SPyNet, offline perceptual weights, a light
    LQ synthesis (area downsampling; the degradation transforms have tests of their own), tiny
    data sets, CPU-sized loaders and a short schedule. With ``probe_dir`` the probes of
    ``training_probes.py`` record the samples each process loads and each rank's weights there.
    """
    probe = probe_hook = ''
    if probe_dir is not None:
        probe = f"dict(type='RecordSample', log_dir={str(probe_dir)!r}),"
        probe_hook = f"dict(type='DumpWeightsHook', out_dir={str(probe_dir)!r}),"
    text = textwrap.dedent(f'''
        _base_ = {str(base)!r}
        work_dir = {str(work_dir)!r}
        model = dict(
            generator=dict(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1,
                           spynet_pretrained=None, min_size=32){model_extra})
        train_pipeline = [
            dict(type='GenerateSegmentIndices', interval_list=[1]),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            {probe}
            dict(type='SetValues', dictionary=dict(scale=4)),
            dict(type='FixedCrop', keys=['gt'], crop_size=(64, 64)),
            dict(type='MirrorSequence', keys=['gt']),
            dict(type='UnsharpMasking', keys=['gt'], kernel_size=51, sigma=0, weight=0.5,
                 threshold=10),
            dict(type='CopyValues', src_keys=['gt'], dst_keys=['img']),
            dict(type='RandomResize', params=dict(target_size=(16, 16), resize_opt=['area'],
                                                  resize_prob=[1.0]), keys=['img']),
            dict(type='Clip', keys=['img']),
            dict(type='PackInputs'),
        ]
        train_dataloader = dict(
            num_workers=0, batch_size=2,
            dataset=dict(data_root={str(train_root)!r}, data_prefix=dict(img='', gt=''),
                         num_input_frames=2, pipeline=train_pipeline))
        val_dataloader = dict(
            num_workers=0,
            dataset=dict(data_root={str(val_root)!r}, data_prefix=dict(img='LQ', gt='GT'),
                         pipeline=[
                             dict(type='GenerateSegmentIndices', interval_list=[1]),
                             dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                             dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                             dict(type='PackInputs')]))
        train_cfg = dict(max_iters={max_iters}, val_interval={val_interval})
        default_hooks = dict(logger=dict(interval=1),
                             checkpoint=dict(interval={max_iters}, save_best=None))
        custom_hooks = [
            dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ),
                 interval=1, interp_cfg=dict(momentum=0.999)),
            dict(type='DynamicRefinementHook', dynamic_refine_thres=1.5, max_passes=3),
            {probe_hook}]
        visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
        load_from = None
        randomness = dict(seed=0)
    ''')
    if probe_dir is not None:
        text += ("custom_imports = dict(imports=['realbasicvsr_plugin', 'training_probes'], "
                 "allow_failed_imports=False)\n")
    return text + textwrap.dedent(extra)
