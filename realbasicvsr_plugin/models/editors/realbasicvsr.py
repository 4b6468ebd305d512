"""The RealBasicVSR editor: losses, two-stage training and EMA around RealBasicVSRNet.

Reuses MMagic's ``RealBasicVSR`` (itself Real-ESRGAN's GAN training loop with an EMA generator) and
changes what the paper and the host's defects call for:

* the cleaning loss gets the HR ground truth and the plugin's :class:`CleaningLoss` downsamples
  it by the generator's own scale (MMagic hard-codes 0.25, x4 only); a loss from MMagic (which
  expects an already downsampled target) still gets one, downsampled here with area interpolation;
* the unsharp-masked ground truth is only read when a loss is configured to use it;
* stage 2 freezes the cleaning module through the generator's ``is_fix_cleaning``: it then runs
  without autograd, so the perceptual and GAN losses cannot reach it.

Stage 1 (paper): pixel + cleaning Charbonnier losses. Stage 2: adds perceptual (weight 1) and
adversarial (5e-2) losses with Real-ESRGAN's UNet discriminator.
"""
from mmagic.models.editors.real_basicvsr import RealBasicVSR as MMagicRealBasicVSR

from realbasicvsr_plugin.registry import MODELS
from ..losses.cleaning_loss import CleaningLoss, downsample_gt


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

    def extract_gt_data(self, data_samples):
        """Ground truth for each loss.

        Args:
            data_samples (DataSample): Stacked samples with ``gt_img`` (n, t, c, H, W) in [0, 1]
                and, when a loss uses it, ``gt_unsharp`` on the 0-255 scale.

        Returns:
            tuple: ``gt_pixel``, ``gt_percep``, ``gt_gan`` as (n*t, c, H, W) and ``gt_clean``
            (n, t, c, H, W) at full resolution (``None`` without a cleaning loss).
        """
        gt = data_samples.gt_img
        uses_sharpened = (self.is_use_sharpened_gt_in_pixel or self.is_use_sharpened_gt_in_percep
                          or self.is_use_sharpened_gt_in_gan)
        sharp = data_samples.gt_unsharp / 255. if uses_sharpened else None
        gt_pixel = sharp if self.is_use_sharpened_gt_in_pixel else gt
        gt_percep = sharp if self.is_use_sharpened_gt_in_percep else gt
        gt_gan = sharp if self.is_use_sharpened_gt_in_gan else gt
        gt_clean = gt_pixel if self.cleaning_loss else None
        flat = [x.flatten(0, 1) for x in (gt_pixel, gt_percep, gt_gan)]
        return flat[0], flat[1], flat[2], gt_clean

    def g_step(self, batch_outputs, batch_gt_data):
        """Generator losses: pixel, perceptual and GAN (MMagic's), and the cleaning loss.

        Args:
            batch_outputs (tuple): HR outputs (n, t, c, H, W) and cleaned LR frames
                (n, t, c, h, w).
            batch_gt_data (tuple): See :meth:`extract_gt_data`.

        Returns:
            dict: Losses by name.
        """
        gt_pixel, gt_percep, gt_gan, gt_clean = batch_gt_data
        outputs, cleaned = batch_outputs
        losses = super(MMagicRealBasicVSR, self).g_step(
            batch_outputs=outputs.view(gt_pixel.shape),
            batch_gt_data=(gt_pixel, gt_percep, gt_gan))
        if self.cleaning_loss:
            target = gt_clean
            if not isinstance(self.cleaning_loss, CleaningLoss):
                target = downsample_gt(gt_clean, cleaned.shape[-2:])
            losses['loss_clean'] = self.cleaning_loss(cleaned, target)
        return losses
