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


def repeat_editor(weight, fix_cleaning=False, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(dict(
        type='RealBasicVSR',
        generator=dict(type='RealBasicVSRNet', is_fix_cleaning=fix_cleaning, **TINY),
        pixel_loss=dict(type='L1Loss'), cleaning_loss=dict(type='CharbonnierLoss'),
        repeated_cleaning_weight=weight, data_preprocessor=PREPROCESSOR))


def test_the_repeated_cleaning_loss_holds_a_second_pass_to_the_same_target():
    model = repeat_editor(0.5)
    gt_data = model.extract_gt_data(samples(4))
    cleaned = torch.rand(2, 3, 3, 8, 12)
    losses = model.g_step((torch.rand(2, 3, 3, 32, 48), cleaned), gt_data)
    # the second pass is the generator's own cleaning (x + C(x)) of the cleaned frames
    net = model.generator
    again = cleaned + net.image_cleaning[1](
        net.basicvsr._residual_stack(net.image_cleaning[0], cleaned.flatten(0, 1))).view_as(cleaned)
    assert not torch.allclose(again, cleaned, atol=1e-3)  # the pass does change the frames
    expected = 0.5 * CharbonnierLoss()(again, gt_data[3])
    assert torch.allclose(losses['loss_clean_repeat'], expected, atol=1e-6)
    assert torch.allclose(losses['loss_clean'], CharbonnierLoss()(cleaned, gt_data[3]))
    # an identity cleaning module makes the second pass the first: weight x the cleaning loss
    torch.nn.init.zeros_(net.image_cleaning[1].weight)
    torch.nn.init.zeros_(net.image_cleaning[1].bias)
    losses = model.g_step((torch.rand(2, 3, 3, 32, 48), cleaned), gt_data)
    assert torch.allclose(losses['loss_clean_repeat'], 0.5 * losses['loss_clean'], atol=1e-6)


def test_the_repeated_cleaning_loss_trains_the_cleaning_module_through_both_passes():
    model = repeat_editor(1.0)
    lq = torch.rand(1, 3, 3, 16, 16)
    gt_data = model.extract_gt_data(samples(4, n=1, h=16, w=16))
    outputs = model.generator(lq, return_lqs=True)
    loss = model.g_step(outputs, gt_data)['loss_clean_repeat']
    loss.backward()
    cleaning = model.generator.image_cleaning
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cleaning.parameters())
    # the first pass's output carries the gradient back too (the pass is not detached)
    first = torch.rand(1, 3, 3, 16, 16, requires_grad=True)
    model.g_step((outputs[0].detach(), first), gt_data)['loss_clean_repeat'].backward()
    assert first.grad.abs().sum() > 0


def test_without_the_weight_or_with_the_cleaning_frozen():
    gt_data = repeat_editor(0).extract_gt_data(samples(4))
    outputs = (torch.rand(2, 3, 3, 32, 48), torch.rand(2, 3, 3, 8, 12))
    assert 'loss_clean_repeat' not in repeat_editor(0).g_step(outputs, gt_data)
    frozen = repeat_editor(1.0, fix_cleaning=True).g_step(outputs, gt_data)
    assert frozen['loss_clean_repeat'] > 0 and not frozen['loss_clean_repeat'].requires_grad


@pytest.mark.parametrize('weight', [-1, float('nan'), float('inf'), True, '1'])
def test_a_bad_repeated_cleaning_weight_is_named(weight):
    with pytest.raises(ValueError, match='repeated_cleaning_weight must be a finite number'):
        repeat_editor(weight)


def test_the_repeated_cleaning_loss_needs_a_cleaning_loss():
    with pytest.raises(ValueError, match='repeated_cleaning_weight needs a cleaning_loss'):
        MODELS.build(dict(type='RealBasicVSR', generator=dict(type='RealBasicVSRNet', **TINY),
                          pixel_loss=dict(type='L1Loss'), repeated_cleaning_weight=1.0,
                          data_preprocessor=PREPROCESSOR))
