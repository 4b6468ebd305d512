# RealBasicVSR, stage 2 of the paper: starts from stage 1 and adds the perceptual loss (weight 1)
# and the adversarial loss (5e-2, Real-ESRGAN's UNet discriminator) with the cleaning module
# frozen. Batch 8, generator lr 5e-5, discriminator lr 1e-4, 150K iterations.
#
#   mim train mmagic configs/realbasicvsr_stage2.py
#   mim train mmagic configs/realbasicvsr_stage2.py --gpus 8 --launcher pytorch
#   mim train mmagic configs/realbasicvsr_stage2.py --launcher slurm --gpus 8 --gpus-per-node 8 \
#       --partition <name>
_base_ = './realbasicvsr_stage1.py'

experiment_name = 'realbasicvsr_stage2'
work_dir = f'./work_dirs/{experiment_name}'

# the last checkpoint of stage 1 (override with --cfg-options load_from=<path or URL>)
load_from = './work_dirs/realbasicvsr_stage1/iter_300000.pth'

model = dict(
    generator=dict(is_fix_cleaning=True),
    discriminator=dict(
        type='UNetDiscriminatorWithSpectralNorm', in_channels=3, mid_channels=64,
        skip_connection=True),
    perceptual_loss=dict(
        type='realbasicvsr_plugin.PerceptualLoss',
        layer_weights={'2': 0.1, '7': 0.1, '16': 1.0, '25': 1.0, '34': 1.0},
        vgg_type='vgg19',
        pretrained='torchvision://vgg19',
        perceptual_weight=1.0,
        style_weight=0,
        norm_img=False),
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-2, real_label_val=1.0,
                  fake_label_val=0),
    is_use_sharpened_gt_in_pixel=True,
    is_use_sharpened_gt_in_percep=True,
    is_use_sharpened_gt_in_gan=False)

# per process, as in stage 1: the paper's 8 on one GPU (1 per GPU on 8 GPUs)
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(enable=False, base_batch_size=8)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=150_000, val_interval=5000)

optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-5, betas=(0.9, 0.99))),
    discriminator=dict(type='OptimWrapper',
                       optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))

custom_hooks = [
    dict(type='BasicVisualizationHook', interval=5),
    # EMA with decay 0.999 (paper, BasicSR). MMagic's hook computes ema + (net - ema) * momentum,
    # so decay 0.999 is momentum=0.001; MMagic's own RealBasicVSR configs say 0.999, which makes
    # the "EMA" a copy of the current weights.
    dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ), interval=1,
         interp_cfg=dict(momentum=0.001)),
    # GAN models use theta = 5 (paper)
    dict(type='DynamicRefinementHook', dynamic_refine_thres=5, max_passes=3),
]
