"""The RealBasicVSR editor: losses, two-stage training and EMA around RealBasicVSRNet.

Reuses MMagic's ``RealBasicVSR`` (itself Real-ESRGAN's GAN training loop with an EMA generator)
and changes only how the ground truth of each loss is extracted:

* the cleaning loss (paper Eq. 3) compares the cleaned LR frames with the ground truth
  area-downsampled by the generator's own scale (MMagic hard-codes 0.25, x4 only); the loss itself
  is MMagic's ``CharbonnierLoss`` (paper), ``L1Loss`` or ``MSELoss`` and only penalises;
* the unsharp-masked ground truth is only read when a loss is configured to use it;
* optionally (``repeated_cleaning_weight`` > 0, not in the paper, off by default) a second
  cleaning pass over the already cleaned frames is held to the same target, so that the extra
  passes of dynamic refinement (Eq. 5) at test time keep what the first pass restored instead of
  wiping out texture.

Stage 2 freezes the cleaning module through the generator's ``is_fix_cleaning``: it then runs
without autograd, so the perceptual and GAN losses cannot reach it.

Stage 1 (paper): pixel + cleaning Charbonnier losses. Stage 2: adds perceptual (weight 1) and
adversarial (5e-2) losses with Real-ESRGAN's UNet discriminator.
"""
import math

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

    Args:
        repeated_cleaning_weight (float): Weight, relative to the cleaning loss, of the
            repeated-cleaning loss ``loss_clean_repeat``: the cleaning loss of one more cleaning
            pass over the cleaned frames, against the same target. It teaches the cleaning
            module to leave frames it has cleaned as they are, which is what the second and third
            passes of dynamic refinement see at test time. 0 (default, the paper): not computed.
            Needs ``cleaning_loss``. With the cleaning module frozen (stage 2) it is only logged.
        **kwargs: MMagic's ``RealBasicVSR`` arguments.
    """

    def __init__(self, *args, repeated_cleaning_weight: float = 0., **kwargs) -> None:
        if (isinstance(repeated_cleaning_weight, bool)
                or not isinstance(repeated_cleaning_weight, (int, float))
                or not math.isfinite(repeated_cleaning_weight) or repeated_cleaning_weight < 0):
            raise ValueError('RealBasicVSR: repeated_cleaning_weight must be a finite number '
                             f'>= 0, got {repeated_cleaning_weight!r}')
        super().__init__(*args, **kwargs)
        if repeated_cleaning_weight and not self.cleaning_loss:
            raise ValueError('RealBasicVSR: repeated_cleaning_weight needs a cleaning_loss (it '
                             'is the cleaning loss of a second pass)')
        self.repeated_cleaning_weight = float(repeated_cleaning_weight)

    def _generator(self):
        return self.generator.module if is_model_wrapper(self.generator) else self.generator

    @property
    def scale(self) -> int:
        """The generator's upsampling factor (4 for MMagic's generator, which is x4 only)."""
        return getattr(self._generator(), 'scale', 4)

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

    def g_step(self, batch_outputs, batch_gt_data):
        """MMagic's generator losses, and ``loss_clean_repeat`` when it is weighted.

        Args:
            batch_outputs (tuple): HR outputs and the cleaned LR frames (n, t, c, h, w).
            batch_gt_data (tuple): What :meth:`extract_gt_data` returns.

        Returns:
            dict: The losses.
        """
        losses = super().g_step(batch_outputs, batch_gt_data)
        if self.repeated_cleaning_weight:
            cleaned_again = self._generator().clean_once(batch_outputs[1])
            losses['loss_clean_repeat'] = self.repeated_cleaning_weight * self.cleaning_loss(
                cleaned_again, batch_gt_data[3])
        return losses
