"""Cleaning loss (paper Eq. 3).

The cleaned LR frames are compared with the HR ground truth downsampled by the model's scale
(area interpolation). MMagic 1.2.0 downsamples with a hard-coded factor 0.25 (x4 only) in the model
and uses an L1 loss; here the loss takes the HR ground truth itself, infers the factor from the
shapes (so x1, x2 and x4 all work) and uses the paper's Charbonnier penalty by default.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from realbasicvsr_plugin.registry import MODELS

_PENALTIES = ('charbonnier', 'l1', 'l2')
_REDUCTIONS = ('mean', 'sum')


def downsample_gt(gt: torch.Tensor, size) -> torch.Tensor:
    """Area-downsample HR frames (..., c, H, W) to ``size`` = (h, w)."""
    lead = gt.shape[:-3]
    flat = gt.reshape(-1, *gt.shape[-3:])
    return F.interpolate(flat, size=tuple(size), mode='area').reshape(*lead, gt.shape[-3],
                                                                         *size)


@MODELS.register_module()
class CleaningLoss(nn.Module):
    """Penalty between cleaned LR frames and the area-downsampled HR ground truth.

    Args:
        loss_weight (float): Weight of the loss. Default: 1.0.
        loss_type (str): 'charbonnier' (paper), 'l1' or 'l2'. Default: 'charbonnier'.
        reduction (str): 'mean' or 'sum'. Default: 'mean'.
        eps (float): Charbonnier's epsilon, sqrt(d^2 + eps). Default: 1e-12 (as MMagic's
            CharbonnierLoss).
        scale (int, optional): Expected ratio of GT size to cleaned size; when given, a
            mismatching pair is an error. Default: None (inferred from the shapes).
    """

    def __init__(self, loss_weight: float = 1.0, loss_type: str = 'charbonnier',
                 reduction: str = 'mean', eps: float = 1e-12,
                 scale: Optional[int] = None) -> None:
        super().__init__()
        if loss_type not in _PENALTIES:
            raise ValueError(f'CleaningLoss: loss_type must be one of {_PENALTIES}, '
                             f'got {loss_type!r}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'CleaningLoss: reduction must be one of {_REDUCTIONS}, '
                             f'got {reduction!r}')
        self.loss_weight = loss_weight
        self.loss_type = loss_type
        self.reduction = reduction
        self.eps = eps
        self.scale = scale

    def forward(self, cleaned: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            cleaned (Tensor): Cleaned LR frames (..., c, h, w).
            gt (Tensor): HR ground truth (..., c, s*h, s*w), same leading dimensions.

        Returns:
            Tensor: The weighted loss (a scalar).
        """
        h, w = cleaned.shape[-2:]
        gh, gw = gt.shape[-2:]
        if cleaned.shape[:-2] != gt.shape[:-2] or gh % h or gw % w or gh // h != gw // w:
            raise ValueError('CleaningLoss: the ground truth must be the cleaned frames times an '
                             f'integer scale; got cleaned {tuple(cleaned.shape)} and ground '
                             f'truth {tuple(gt.shape)}')
        if self.scale is not None and gh // h != self.scale:
            raise ValueError(f'CleaningLoss: expected scale {self.scale}, but the ground truth '
                             f'{tuple(gt.shape)} is {gh // h}x the cleaned frames '
                             f'{tuple(cleaned.shape)}')
        target = gt if gh == h else downsample_gt(gt, (h, w))
        diff = cleaned - target
        if self.loss_type == 'charbonnier':
            penalty = torch.sqrt(diff * diff + self.eps)
        elif self.loss_type == 'l1':
            penalty = diff.abs()
        else:
            penalty = diff * diff
        loss = penalty.mean() if self.reduction == 'mean' else penalty.sum()
        return self.loss_weight * loss
