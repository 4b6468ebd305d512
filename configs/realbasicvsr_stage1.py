# RealBasicVSR, stage 1 of the paper: Charbonnier pixel loss + cleaning loss (Eq. 3, 4), no GAN.
# 64 channels, 20 cleaning blocks, 2x20 propagation blocks, x4. Batch 16, L = 30 (15 frames loaded
# and mirrored in time), 64x64 LR patches, Adam lr 1e-4, 300K iterations, EMA generator.
#
#   mim train mmagic configs/realbasicvsr_stage1.py                       # one GPU (or CPU)
#   mim train mmagic configs/realbasicvsr_stage1.py --gpus 8 --launcher pytorch
_base_ = [
    './_base_/default_runtime.py',
    './_base_/realbasicvsr_x4_model.py',
    './_base_/realbasicvsr_degradations.py',
    './_base_/reds_udm10_videolq.py',
]

experiment_name = 'realbasicvsr_stage1'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(
    generator=dict(
        dynamic_refine_thres=None,  # training: one cleaning pass; the hook sets the test theta
        spynet_pretrained='https://download.openmmlab.com/mmediting/restorers/'
        'basicvsr/spynet_20210409-c6c1bd09.pth'),
    pixel_loss=dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean'),
    # Eq. 3: the editor area-downsamples the GT by the generator's scale; the loss penalises
    cleaning_loss=dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean'),
    is_use_sharpened_gt_in_pixel=True)

# batch_size is per process (MMEngine): 16 is the paper's batch on one GPU; on N GPUs set
# train_dataloader.batch_size=16/N (2 on 8 GPUs). Where N does not divide 16, take the nearest
# per-GPU batch and add --auto-scale-lr: the learning rates are then scaled by N*batch/16.
train_dataloader = dict(batch_size=16, dataset=dict(num_input_frames=15,
                                                    pipeline={{_base_.train_pipeline}}))
auto_scale_lr = dict(enable=False, base_batch_size=16)

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
    dict(type='DynamicRefinementHook', dynamic_refine_thres=1.5, max_passes=3),
]
