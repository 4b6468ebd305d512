# The demo model, stage 1: a small RealBasicVSR trained by the project itself, on CPU, with the
# plugin's own stochastic degradations, on camera-move clips over photographs and renders with free
# licences (scripts/make_demo_clips.py). Stage 2 (GAN) is configs/realbasicvsr_demo_stage2.py; its
# result is the default checkpoint of the `realbasicvsr` command when no --checkpoint is given.
# It is a demo: for real use, take the official RealBasicVSR weights.
# How it was trained (the exact commands, with warm start and --resume) and how good it is:
# docs/demo_model.md.
#
#   python scripts/make_demo_clips.py --out data/demo
#   mim train mmagic configs/realbasicvsr_demo.py
_base_ = './realbasicvsr_stage1.py'

experiment_name = 'realbasicvsr_demo'
work_dir = f'./work_dirs/{experiment_name}'

# 16x16 LR patches: a quarter of the compute of 32x32 per sample, so that the run learns on a
# 2-core CPU shared with other jobs (the paper: 64x64 LR patches)
gt_patch_size = 64

model = dict(
    generator=dict(
        mid_channels=32,
        num_propagation_blocks=4,
        num_cleaning_blocks=4,
        spynet_pretrained=None,  # no pretrained SPyNet offline: it is trained with the rest
        is_fix_spynet=False,
        min_size=16))  # pad smaller inputs to 16 (SPyNet works on them resized to 32)

# The paper's pipeline (configs/_base_/realbasicvsr_degradations.py) at this patch size, with its
# whole second-order + video-compression degradation in one step, random-walking per frame.
train_pipeline = [
    *_base_.load_steps,
    dict(_base_.gt_crop, crop_size=(gt_patch_size, gt_patch_size)),
    *_base_.gt_steps,
    dict(type='RealBasicVSRDegradations', keys=['img'],
         target_size=(gt_patch_size // _base_.scale, gt_patch_size // _base_.scale)),
    *_base_.pack_steps,
]

train_dataloader = dict(
    num_workers=2,
    batch_size=4,
    persistent_workers=True,
    dataset=dict(
        metainfo=dict(dataset_type='demo_clips', task_name='vsr'),
        data_root='data/demo',
        data_prefix=dict(img='train', gt='train'),
        num_input_frames=3,  # L = 6 after mirroring
        pipeline=train_pipeline))

# no validation set during training: scripts/evaluate_demo_model.py scores held-out clips
val_dataloader = None
val_evaluator = None
val_cfg = None

max_iters = 600
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**9)

optim_wrapper = dict(
    generator=dict(
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99)),
        paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.25)})))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-5)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=50, max_keep_ckpts=4, save_best=None, save_optimizer=True))

custom_hooks = [
    # momentum 0.01 in MMagic's convention (decay 0.99): the EMA averages about the last 100
    # iterations, which suits a run of 600 (the paper's decay 0.999 is momentum=0.001, see the
    # stage configs)
    dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ), interval=1,
         interp_cfg=dict(momentum=0.01)),
    dict(type='DynamicRefinementHook', dynamic_refine_thres=1.5, max_passes=3),
]
model_wrapper_cfg = None
randomness = dict(seed=2022)
