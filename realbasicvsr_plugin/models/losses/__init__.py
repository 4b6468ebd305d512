from .cleaning_loss import CleaningLoss, downsample_gt
from .perceptual_loss import PerceptualLoss

__all__ = ['CleaningLoss', 'downsample_gt', 'PerceptualLoss']
