"""Cleaning loss (Eq. 3): Charbonnier against the HR ground truth area-downsampled by the scale."""
import pytest
import torch
import torch.nn.functional as F
from mmagic.models.losses import CharbonnierLoss, L1Loss

from realbasicvsr_plugin.models import CleaningLoss
from realbasicvsr_plugin.registry import MODELS


def pair(scale, n=2, t=3, h=8, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, t, 3, h, w, generator=g),
            torch.rand(n, t, 3, h * scale, w * scale, generator=g))


@pytest.mark.parametrize('scale', [1, 2, 4])
def test_charbonnier_against_area_downsampled_gt(scale):
    cleaned, gt = pair(scale)
    # area downsampling by an integer factor is the mean over each s x s block
    blocks = gt.reshape(2, 3, 3, 8, scale, 12, scale).mean(dim=(4, 6))
    expected = torch.sqrt((cleaned - blocks) ** 2 + 1e-12).mean()
    loss = CleaningLoss()(cleaned, gt)
    assert torch.allclose(loss, expected, atol=1e-7)


def test_agrees_with_mmagic_losses_on_mmagics_x4_target():
    cleaned, gt = pair(4)
    # MMagic's model: F.interpolate(gt, scale_factor=0.25, mode='area'), then its loss
    target = F.interpolate(gt.flatten(0, 1), scale_factor=0.25, mode='area',
                           recompute_scale_factor=False).view_as(cleaned)
    assert torch.allclose(CleaningLoss()(cleaned, gt), CharbonnierLoss()(cleaned, target),
                          atol=1e-7)
    assert torch.allclose(CleaningLoss(loss_type='l1')(cleaned, gt), L1Loss()(cleaned, target),
                          atol=1e-7)


def test_weight_penalties_and_reduction():
    cleaned, gt = pair(2)
    base = CleaningLoss(loss_type='l2')(cleaned, gt)
    assert torch.allclose(CleaningLoss(loss_type='l2', loss_weight=3.)(cleaned, gt), 3 * base)
    summed = CleaningLoss(loss_type='l2', reduction='sum')(cleaned, gt)
    assert torch.allclose(summed, base * cleaned.numel(), rtol=1e-5)
    # a perfect cleaning costs (almost) nothing
    target = F.interpolate(gt.flatten(0, 1), size=(8, 12), mode='area').view_as(cleaned)
    assert CleaningLoss()(target, gt) < 1e-5


def test_gradient_reaches_the_cleaned_frames_only():
    cleaned, gt = pair(4)
    cleaned.requires_grad_(True)
    CleaningLoss()(cleaned, gt).backward()
    assert cleaned.grad is not None and cleaned.grad.abs().sum() > 0


@pytest.mark.parametrize('cleaned_shape, gt_shape, kwargs, message', [
    ((1, 2, 3, 8, 8), (1, 2, 3, 30, 30), {}, 'integer scale'),
    ((1, 2, 3, 8, 8), (1, 2, 3, 32, 16), {}, 'integer scale'),
    ((1, 2, 3, 8, 8), (1, 3, 3, 32, 32), {}, 'integer scale'),
    ((1, 2, 3, 8, 8), (1, 2, 3, 16, 16), dict(scale=4), 'expected scale 4'),
])
def test_mismatched_shapes_are_named(cleaned_shape, gt_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        CleaningLoss(**kwargs)(torch.rand(cleaned_shape), torch.rand(gt_shape))


@pytest.mark.parametrize('kwargs', [dict(loss_type='huber'), dict(reduction='none')])
def test_unknown_options_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        CleaningLoss(**kwargs)


def test_registered():
    assert isinstance(MODELS.build(dict(type='CleaningLoss', loss_weight=1.)), CleaningLoss)
