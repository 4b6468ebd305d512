# The demo model, stage 2: starts from the last checkpoint of configs/realbasicvsr_demo.py (stage 1)
# and adds the adversarial loss (5e-2, Real-ESRGAN's UNet discriminator, here with 32 channels)
# with the cleaning module frozen: the paper's stage 2 (configs/_base_/realbasicvsr_stage2_gan.py,
# as configs/realbasicvsr_stage2.py), at the demo's size and schedule.
#
# No perceptual loss: the paper's comes from ImageNet-pretrained VGG-19 weights, which cannot be
# obtained on the machine this model was trained on (no download of model weights), and a VGG with
# random weights would not measure perceptual similarity. The generator therefore learns from the
# pixel loss (unsharp-masked ground truth, as in the paper) and the GAN loss only; see
# docs/demo_model.md.
#
#   mim train mmagic configs/realbasicvsr_demo_stage2.py \
#       --cfg-options load_from=<stage-1 work dir>/iter_600.pth
_base_ = ['./realbasicvsr_demo.py', './_base_/realbasicvsr_stage2_gan.py']

experiment_name = 'realbasicvsr_demo_stage2'
work_dir = f'./work_dirs/{experiment_name}'

# the last checkpoint of stage 1 (override with --cfg-options load_from=<path>)
load_from = './work_dirs/realbasicvsr_demo/iter_600.pth'

model = dict(
    _base_.stage2_model,
    discriminator=dict(_base_.stage2_model.discriminator, mid_channels=32),
    perceptual_loss=None)

max_iters = 200
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**9)

# the stage-2 learning rates; the generator keeps the demo's lr_mult of SPyNet (trained here)
optim_wrapper = _base_.stage2_optim_wrapper
param_scheduler = None

default_hooks = dict(checkpoint=dict(interval=25, max_keep_ckpts=4))

# the demo's hooks (EMA with decay 0.99), with theta = 5 for testing
custom_hooks = [h for h in _base_.custom_hooks if h.type != 'DynamicRefinementHook'] + [
    _base_.stage2_refinement_hook]
