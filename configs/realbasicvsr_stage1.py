# RealBasicVSR, stage 1 of the paper: Charbonnier pixel loss + cleaning loss (Eq. 3, 4), no GAN.
# 64 channels, 20 cleaning blocks, 2x20 propagation blocks, x4. Batch 16, L = 30 (15 frames loaded
# and mirrored in time), 64x64 LR patches, Adam lr 1e-4, 300K iterations, EMA generator.
#
#   mim train mmagic configs/realbasicvsr_stage1.py                       # one GPU (or CPU)
#   mim train mmagic configs/realbasicvsr_stage1.py --gpus 8 --launcher pytorch
_base_ = [
    './_base_/default_runtime.py',
    './_base_/realbasicvsr_degradations.py',
    './_base_/reds_udm10_videolq.py',
]

experiment_name = 'realbasicvsr_stage1'
work_dir = f'./work_dirs/{experiment_name}'

# the plugin's classes are named with their scope, so that they are built even by tools that
# build models under MMagic's scope (MMagic's inferencer does, whatever default_scope says)
model = dict(
    type='realbasicvsr_plugin.RealBasicVSR',
    generator=dict(
        type='realbasicvsr_plugin.RealBasicVSRNet',
        mid_channels=64,
        num_propagation_blocks=20,
        num_cleaning_blocks=20,
        dynamic_refine_thres=None,  # training: one cleaning pass; the hook sets the test theta
        max_passes=3,
        scale=4,
        spynet_pretrained='https://download.openmmlab.com/mmediting/restorers/'
        'basicvsr/spynet_20210409-c6c1bd09.pth',
        is_fix_cleaning=False,
        is_sequential_cleaning=False),
    pixel_loss=dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean'),
    cleaning_loss=dict(
        type='realbasicvsr_plugin.CleaningLoss', loss_weight=1.0, loss_type='charbonnier'),
    is_use_sharpened_gt_in_pixel=True,
    is_use_ema=True,
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))

train_dataloader = dict(batch_size=16, dataset=dict(num_input_frames=15,
                                                    pipeline={{_base_.train_pipeline}}))

train_cfg = dict(type='IterBasedTrainLoop', max_iters=300_000, val_interval=5000)
val_cfg = dict(type='MultiValLoop')

optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))

custom_hooks = [
    dict(type='BasicVisualizationHook', interval=5),
    # EMA with decay 0.999 (paper, BasicSR). MMagic's hook computes ema + (net - ema) * momentum,
    # so decay 0.999 is momentum=0.001; MMagic's own RealBasicVSR configs say 0.999, which makes
    # the "EMA" a copy of the current weights.
    dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ), interval=1,
         interp_cfg=dict(momentum=0.001)),
    # theta of Eq. 5 for validation and testing: 1.5 for models trained without GAN losses
    dict(type='DynamicRefinementHook', test_thres=1.5, max_passes=3),
]
