# Stage 2 of the paper, as what it changes in a stage-1 config: the cleaning module frozen,
# Real-ESRGAN's UNet discriminator and the adversarial loss (5e-2), the pixel and perceptual losses
# on the unsharp-masked GT (the GAN loss on the plain one), generator lr 5e-5, discriminator lr
# 1e-4, and theta = 5 at test time (the paper's value for GAN models).
#
# A stage-2 config lists this file after its stage-1 config and merges the parts over it:
#   configs/realbasicvsr_stage2.py (the paper's), configs/realbasicvsr_demo_stage2.py (the demo).
# The parts are not named `model`, `optim_wrapper`, ...: MMEngine refuses a key set by two bases.
stage2_model = dict(
    generator=dict(is_fix_cleaning=True),
    discriminator=dict(
        type='UNetDiscriminatorWithSpectralNorm', in_channels=3, mid_channels=64,
        skip_connection=True),
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-2, real_label_val=1.0,
                  fake_label_val=0),
    is_use_sharpened_gt_in_pixel=True,
    is_use_sharpened_gt_in_percep=True,
    is_use_sharpened_gt_in_gan=False)

# merged over the stage-1 optimizers: the generator keeps its other settings (paramwise_cfg)
stage2_optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-5, betas=(0.9, 0.99))),
    discriminator=dict(type='OptimWrapper',
                       optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))

# replaces the stage-1 config's DynamicRefinementHook; its other hooks stay
stage2_refinement_hook = dict(type='DynamicRefinementHook', dynamic_refine_thres=5, max_passes=3)
