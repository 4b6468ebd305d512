"""The RealBasicVSR editor: losses, two-stage training and EMA around RealBasicVSRNet.

Reuses MMagic's ``RealBasicVSR`` (itself Real-ESRGAN's GAN training loop with an EMA generator)
and changes only how the ground truth of each loss is extracted:

* the cleaning loss (paper Eq. 3) compares the cleaned LR frames with the ground truth
  area-downsampled by the generator's own scale (MMagic hard-codes 0.25, x4 only); the loss itself
  is MMagic's ``CharbonnierLoss`` (paper), ``L1Loss`` or ``MSELoss`` and only penalises;
* the unsharp-masked ground truth is only read when a loss is configured to use it.

Stage 2 freezes the cleaning module through the generator's ``is_fix_cleaning``: it then runs
without autograd, so the perceptual and GAN losses cannot reach it.

Stage 1 (paper): pixel + cleaning Charbonnier losses. Stage 2: adds perceptual (weight 1) and
adversarial (5e-2) losses with Real-ESRGAN's UNet discriminator.
"""
import torch.nn.functional as F
from mmagic.models.editors.real_basicvsr import RealBasicVSR as MMagicRealBasicVSR
from mmengine.model import is_model_wrapper

from realbasicvsr_plugin.registry import MODELS


@MODELS.register_module()
class RealBasicVSR(MMagicRealBasicVSR):
    """RealBasicVSR model for real-world video super-resolution.

    Takes MMagic's arguments unchanged (``generator``, ``discriminator``, ``gan_loss``,
    ``pixel_loss``, ``cleaning_loss``, ``perceptual_loss``, ``is_use_sharpened_gt_in_pixel``,
    ``is_use_sharpened_gt_in_percep``, ``is_use_sharpened_gt_in_gan``, ``is_use_ema``,
    ``train_cfg``, ``test_cfg``, ``init_cfg``, ``data_preprocessor``), so a MMagic config ports by
    changing its scope. At test time the EMA generator runs (when ``is_use_ema``), with the
    dynamic refinement that :class:`DynamicRefinementHook` switches on.
    """

    @property
    def scale(self) -> int:
        """The generator's upsampling factor (4 for MMagic's generator, which is x4 only)."""
        generator = self.generator.module if is_model_wrapper(self.generator) else self.generator
        return getattr(generator, 'scale', 4)

    def extract_gt_data(self, data_samples):
        """Ground truth for each loss.

        Args:
            data_samples (DataSample): Stacked samples with ``gt_img`` (n, t, c, H, W) in [0, 1]
                and, when a loss uses it, ``gt_unsharp`` on the 0-255 scale.

        Returns:
            tuple: ``gt_pixel``, ``gt_percep``, ``gt_gan`` as (n*t, c, H, W) and ``gt_clean``,
            the pixel-loss ground truth area-downsampled by the generator's scale,
            (n, t, c, H/s, W/s) (``None`` without a cleaning loss).
        """
        gt = data_samples.gt_img
        uses_sharpened = (self.is_use_sharpened_gt_in_pixel or self.is_use_sharpened_gt_in_percep
                          or self.is_use_sharpened_gt_in_gan)
        sharp = data_samples.gt_unsharp / 255. if uses_sharpened else None
        gt_pixel = sharp if self.is_use_sharpened_gt_in_pixel else gt
        gt_percep = sharp if self.is_use_sharpened_gt_in_percep else gt
        gt_gan = sharp if self.is_use_sharpened_gt_in_gan else gt
        gt_clean = None
        if self.cleaning_loss:
            n, t, c, h, w = gt_pixel.shape
            scale = self.scale
            if h % scale or w % scale:
                raise ValueError(f'RealBasicVSR: the ground truth ({h}x{w}) is not a multiple of '
                                 f'the generator scale {scale}; crop the GT to a multiple of it')
            gt_clean = F.interpolate(gt_pixel.flatten(0, 1), size=(h // scale, w // scale),
                                     mode='area').view(n, t, c, h // scale, w // scale)
        flat = [x.flatten(0, 1) for x in (gt_pixel, gt_percep, gt_gan)]
        return flat[0], flat[1], flat[2], gt_clean
