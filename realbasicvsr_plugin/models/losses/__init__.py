from .cleaning_loss import CleaningLoss, downsample_gt

__all__ = ['CleaningLoss', 'downsample_gt']
