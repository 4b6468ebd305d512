"""Cleaning loss (Eq. 3): the editor area-downsamples the GT by the generator's scale and MMagic's
CharbonnierLoss (L1Loss, MSELoss) penalises the cleaned frames against it."""
import types

import pytest
import torch
from mmagic.models.editors.real_basicvsr import RealBasicVSR as MMagicRealBasicVSR
from mmagic.models.losses import CharbonnierLoss, L1Loss, MSELoss
from mmagic.registry import MODELS as MMAGIC_MODELS

from realbasicvsr_plugin.registry import MODELS

TINY = dict(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1)
PREPROCESSOR = dict(type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3)


def editor(scale=4, loss='CharbonnierLoss'):
    return MODELS.build(dict(
        type='RealBasicVSR', generator=dict(type='RealBasicVSRNet', scale=scale, **TINY),
        pixel_loss=dict(type='L1Loss'), cleaning_loss=dict(type=loss, loss_weight=1.0),
        data_preprocessor=PREPROCESSOR))


def samples(scale, n=2, t=3, h=8, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    gt = torch.rand(n, t, 3, h * scale, w * scale, generator=g)
    return types.SimpleNamespace(gt_img=gt, gt_unsharp=gt * 255.)


@pytest.mark.parametrize('scale', [1, 2, 4])
def test_the_target_is_the_gt_area_downsampled_by_the_generator_scale(scale):
    data = samples(scale)
    *_, gt_clean = editor(scale).extract_gt_data(data)
    # area downsampling by an integer factor is the mean over each s x s block
    blocks = data.gt_img.reshape(2, 3, 3, 8, scale, 12, scale).mean(dim=(4, 6))
    assert gt_clean.shape == (2, 3, 3, 8, 12)
    assert torch.allclose(gt_clean, blocks, atol=1e-6)


@pytest.mark.parametrize('loss, reference', [('CharbonnierLoss', CharbonnierLoss),
                                             ('L1Loss', L1Loss), ('MSELoss', MSELoss)])
def test_the_loss_only_penalises_cleaned_frames_against_the_target(loss, reference):
    model = editor(2, loss)
    data = samples(2)
    gt_data = model.extract_gt_data(data)
    outputs = torch.rand(2, 3, 3, 16, 24)
    cleaned = torch.rand(2, 3, 3, 8, 12, requires_grad=True)
    losses = model.g_step((outputs, cleaned), gt_data)
    assert torch.allclose(losses['loss_clean'], reference()(cleaned, gt_data[3]))
    losses['loss_clean'].backward()
    assert cleaned.grad.abs().sum() > 0


def test_at_x4_the_target_is_mmagics():
    data = samples(4)
    ours = editor(4).extract_gt_data(data)
    theirs = MMagicRealBasicVSR(
        generator=dict(type='RealBasicVSRNet', mid_channels=4, num_propagation_blocks=1,
                       num_cleaning_blocks=1, spynet_pretrained=None),
        pixel_loss=dict(type='L1Loss'), cleaning_loss=dict(type='CharbonnierLoss'),
        data_preprocessor=PREPROCESSOR)
    assert isinstance(theirs, MMAGIC_MODELS.get('RealBasicVSR'))
    reference = theirs.extract_gt_data(data)
    for a, b in zip(ours, reference):
        assert torch.allclose(a, b, atol=1e-6)


def test_a_gt_that_is_not_a_multiple_of_the_scale_is_named():
    data = types.SimpleNamespace(gt_img=torch.rand(1, 2, 3, 30, 32))
    with pytest.raises(ValueError, match='not a multiple of the generator scale 4'):
        editor(4).extract_gt_data(data)


def test_without_a_cleaning_loss_there_is_no_target():
    model = MODELS.build(dict(type='RealBasicVSR',
                              generator=dict(type='RealBasicVSRNet', **TINY),
                              pixel_loss=dict(type='L1Loss'), data_preprocessor=PREPROCESSOR))
    assert model.extract_gt_data(samples(4))[3] is None
