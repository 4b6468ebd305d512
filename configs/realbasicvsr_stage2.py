# RealBasicVSR, stage 2 of the paper: starts from stage 1 and adds the perceptual loss (weight 1)
# and the adversarial loss (5e-2, Real-ESRGAN's UNet discriminator) with the cleaning module
# frozen (configs/_base_/realbasicvsr_stage2_gan.py). Batch 8, generator lr 5e-5, discriminator
# lr 1e-4, 150K iterations.
#
#   mim train mmagic configs/realbasicvsr_stage2.py
#   mim train mmagic configs/realbasicvsr_stage2.py --gpus 8 --launcher pytorch
#   mim train mmagic configs/realbasicvsr_stage2.py --launcher slurm --gpus 8 --gpus-per-node 8 \
#       --partition <name>
_base_ = ['./realbasicvsr_stage1.py', './_base_/realbasicvsr_stage2_gan.py']

experiment_name = 'realbasicvsr_stage2'
work_dir = f'./work_dirs/{experiment_name}'

# the last checkpoint of stage 1 (override with --cfg-options load_from=<path or URL>)
load_from = './work_dirs/realbasicvsr_stage1/iter_300000.pth'

model = dict(
    _base_.stage2_model,
    perceptual_loss=dict(
        type='realbasicvsr_plugin.PerceptualLoss',
        layer_weights={'2': 0.1, '7': 0.1, '16': 1.0, '25': 1.0, '34': 1.0},
        vgg_type='vgg19',
        pretrained='torchvision://vgg19',
        perceptual_weight=1.0,
        style_weight=0,
        norm_img=False))

# per process, as in stage 1: the paper's 8 on one GPU (1 per GPU on 8 GPUs)
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(enable=False, base_batch_size=8)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=150_000, val_interval=5000)

optim_wrapper = _base_.stage2_optim_wrapper

# stage 1's hooks (visualisation, EMA with decay 0.999), with theta = 5 for testing
custom_hooks = [h for h in _base_.custom_hooks if h.type != 'DynamicRefinementHook'] + [
    _base_.stage2_refinement_hook]
