# The demo model, stage 2: starts from the last checkpoint of configs/realbasicvsr_demo.py (stage 1)
# and adds the adversarial loss (5e-2, Real-ESRGAN's UNet discriminator, here with 32 channels)
# with the cleaning module frozen, as stage 2 of the paper (configs/realbasicvsr_stage2.py) does.
#
# No perceptual loss: the paper's comes from ImageNet-pretrained VGG-19 weights, which cannot be
# obtained on the machine this model was trained on (no download of model weights), and a VGG with
# random weights would not measure perceptual similarity. The generator therefore learns from the
# pixel loss (unsharp-masked ground truth, as in the paper) and the GAN loss only; see
# docs/demo_model.md.
#
#   mim train mmagic configs/realbasicvsr_demo_stage2.py \
#       --cfg-options load_from=<stage-1 work dir>/iter_600.pth
_base_ = './realbasicvsr_demo.py'

experiment_name = 'realbasicvsr_demo_stage2'
work_dir = f'./work_dirs/{experiment_name}'

# the last checkpoint of stage 1 (override with --cfg-options load_from=<path>)
load_from = './work_dirs/realbasicvsr_demo/iter_600.pth'

model = dict(
    generator=dict(is_fix_cleaning=True),
    discriminator=dict(
        type='UNetDiscriminatorWithSpectralNorm', in_channels=3, mid_channels=32,
        skip_connection=True),
    perceptual_loss=None,
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-2, real_label_val=1.0,
                  fake_label_val=0),
    is_use_sharpened_gt_in_pixel=True,
    is_use_sharpened_gt_in_percep=True,
    is_use_sharpened_gt_in_gan=False)

max_iters = 200
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**9)

optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-5, betas=(0.9, 0.99)),
                   paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.25)})),
    discriminator=dict(type='OptimWrapper',
                       optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
param_scheduler = None

default_hooks = dict(checkpoint=dict(interval=25, max_keep_ckpts=4))

custom_hooks = [
    # decay 0.99 (MMagic momentum 0.01), as in stage 1 of the demo model
    dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ), interval=1,
         interp_cfg=dict(momentum=0.01)),
    # GAN models use theta = 5 (paper)
    dict(type='DynamicRefinementHook', dynamic_refine_thres=5, max_passes=3),
]
