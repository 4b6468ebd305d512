"""RealBasicVSRNet: the paper's network, per-frame dynamic refinement (Eq. 5), parity with MMagic."""
import pytest
import torch
from mmagic.models.editors.real_basicvsr.real_basicvsr_net import \
    RealBasicVSRNet as MMagicNet

from realbasicvsr_plugin.models import RealBasicVSRNet
from realbasicvsr_plugin.models import inference_schedule as schedule
from realbasicvsr_plugin.registry import MODELS

from conftest import TINY_NET


def tiny_pair(**kwargs):
    """The plugin's net and MMagic's with identical weights."""
    torch.manual_seed(0)
    ours = RealBasicVSRNet(**TINY_NET, **kwargs)
    thres = kwargs.get('dynamic_refine_thres', 255)
    theirs = MMagicNet(**TINY_NET, dynamic_refine_thres=255 if thres is None else thres)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours.eval(), theirs.eval()


def clip(n=1, t=3, h=64, w=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, t, 3, h, w, generator=g)


def test_paper_setting_has_6_3m_parameters_like_mmagic():
    ours = RealBasicVSRNet()
    theirs = MMagicNet()
    n_ours = sum(p.numel() for p in ours.parameters())
    assert n_ours == sum(p.numel() for p in theirs.parameters())
    assert 6.2e6 < n_ours < 6.4e6
    # MMagic's state-dict layout is the plugin's: strict loading works both ways
    ours.load_state_dict(theirs.state_dict(), strict=True)


@pytest.mark.parametrize('thres', [255, 0])
def test_equals_mmagic_when_both_run_the_same_passes(thres):
    # theta=255: one pass for both; theta=0: every frame gets all 3 passes in both
    ours, theirs = tiny_pair(dynamic_refine_thres=thres)
    lqs = clip(n=2, t=3)
    with torch.no_grad():
        out, cleaned = ours(lqs, return_lqs=True)
        ref_out, ref_cleaned = theirs(lqs.clone(), return_lqs=True)
    expected_passes = 1 if thres == 255 else 3
    assert torch.all(ours.last_passes == expected_passes)
    assert out.shape == (2, 3, 3, 256, 256)
    assert (out - ref_out).abs().max() <= 1e-5
    assert (cleaned - ref_cleaned).abs().max() <= 1e-5


def reference_eq5(net, lqs, theta, max_passes):
    """Eq. 5 written naively, one frame at a time."""
    n, t = lqs.shape[:2]
    cleaned = torch.empty_like(lqs)
    passes = torch.zeros(n, t, dtype=torch.long)
    for b in range(n):
        for i in range(t):
            x = lqs[b, i:i + 1]
            for j in range(max_passes):
                r = net.image_cleaning(x)
                x = x + r
                passes[b, i] += 1
                if r.abs().mean() < theta / 255.:
                    break
            cleaned[b, i] = x[0]
    return cleaned, passes


def test_refinement_is_decided_per_frame_where_mmagic_decides_per_sequence():
    ours, theirs = tiny_pair()
    lqs = clip(t=4)
    lqs[0, 1] = 0.5  # a flat frame: its residue differs from the noisy frames'
    lqs[0, 2] = 0.5 + 0.02 * lqs[0, 2]
    with torch.no_grad():
        first = ours.image_cleaning(lqs[0]).abs().mean(dim=(1, 2, 3)) * 255
    # theta between the smallest per-frame residue and the whole-sequence mean: Eq. 5 stops that
    # frame after one pass, MMagic's whole-sequence rule cleans every frame again
    assert first.min() < first.mean()
    theta = float((first.min() + first.mean()) / 2)
    ours.set_refinement(theta, 3)
    theirs.dynamic_refine_thres = theta / 255.
    with torch.no_grad():
        _, cleaned = ours(lqs, return_lqs=True)
        _, mm_cleaned = theirs(lqs.clone(), return_lqs=True)
        ref_cleaned, ref_passes = reference_eq5(ours, lqs, theta, 3)
    stopped = int(first.argmin())
    assert ours.last_passes[0, stopped] == 1
    assert torch.equal(ours.last_passes, ref_passes)
    assert (cleaned - ref_cleaned).abs().max() <= 1e-6
    # MMagic cleaned that frame again: its result differs from Eq. 5's
    assert (mm_cleaned[0, stopped] - cleaned[0, stopped]).abs().max() > 1e-4


def test_stopped_frames_are_not_recomputed():
    ours, _ = tiny_pair()
    lqs = clip(t=5)
    lqs[0, :2] = 0.5
    with torch.no_grad():
        first = ours.image_cleaning(lqs[0]).abs().mean(dim=(1, 2, 3)) * 255
    ours.set_refinement(float(first.median()), 4)
    seen = []
    handle = ours.image_cleaning[1].register_forward_hook(
        lambda m, i, o: seen.append(i[0].size(0)))
    with torch.no_grad():
        ours(lqs)
    handle.remove()
    assert sum(seen) == int(ours.last_passes.sum())
    assert ours.last_passes.min() < ours.last_passes.max()


def test_theta_none_means_exactly_one_pass():
    ours, _ = tiny_pair(dynamic_refine_thres=None)
    with torch.no_grad():
        ours(clip())
    assert torch.all(ours.last_passes == 1)


@pytest.mark.parametrize('scale', [1, 2, 4])
def test_scales(scale):
    net = RealBasicVSRNet(**TINY_NET, scale=scale).eval()
    with torch.no_grad():
        out = net(clip(t=2, h=64, w=72))
    assert out.shape == (1, 2, 3, 64 * scale, 72 * scale)


def test_odd_and_small_frames_are_padded_and_cropped_back():
    net = RealBasicVSRNet(**TINY_NET).eval()
    small = clip(t=2, h=21, w=33)
    with torch.no_grad():
        out, cleaned = net(small, return_lqs=True)
        odd = net(clip(t=2, h=67, w=65))
    assert out.shape == (1, 2, 3, 84, 132) and cleaned.shape == small.shape
    assert odd.shape == (1, 2, 3, 268, 260)
    assert torch.isfinite(out).all()


def test_sequential_cleaning_equals_batched_and_input_is_untouched():
    torch.manual_seed(0)
    batched = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=0).eval()
    sequential = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=0,
                                 is_sequential_cleaning=True).eval()
    sequential.load_state_dict(batched.state_dict())
    lqs = clip(t=3)
    before = lqs.clone()
    with torch.no_grad():
        a = batched(lqs)
        b = sequential(lqs)
    assert torch.equal(lqs, before)
    assert (a - b).abs().max() <= 1e-5


def spy_tiles(monkeypatch, shape=None):
    """Record the tile shapes the upsampling runs in; force ``shape`` (rows, cols) if given."""
    calls = []
    tiles = schedule.upsample_in_tiles

    def counting(stages, act, feat, base, scale, tile):
        calls.append(tuple(tile))
        return tiles(stages, act, feat, base, scale, tile)

    monkeypatch.setattr(schedule, 'upsample_in_tiles', counting)
    if shape is not None:
        monkeypatch.setattr(schedule, 'tile_shape', lambda *a, **k: shape)
    return calls


@pytest.mark.parametrize('shape', [(1, 70), (3, 70), (4, 9), (7, 16), (66, 70), (67, 5)])
def test_upsampling_in_tiles_equals_mmagic(monkeypatch, shape):
    # inference cuts the x4 upsampling into tiles of LR rows and columns with halos; every tile
    # shape, including ones that do not divide the frame (67x70), must give MMagic's output; a
    # batch of two sequences goes through the tiles together
    calls = spy_tiles(monkeypatch, shape)
    ours, theirs = tiny_pair()
    lqs = clip(n=2, t=2, h=67, w=70)
    with torch.no_grad():
        out = ours(lqs)
        ref = theirs(lqs.clone())
    assert calls == [shape, shape]  # one tile-wise upsampling per frame
    assert (out - ref).abs().max() <= 1e-5


@pytest.mark.parametrize('scale', [1, 2])
def test_upsampling_in_tiles_equals_one_pass_at_every_scale(monkeypatch, scale):
    torch.manual_seed(0)
    net = RealBasicVSRNet(**TINY_NET, scale=scale).eval()
    lqs = clip(t=2, h=65, w=64)
    with torch.no_grad():
        whole = net(lqs)
    calls = spy_tiles(monkeypatch, shape=(5, 13))
    with torch.no_grad():
        in_tiles = net(lqs)
    assert len(calls) == 2
    assert (whole - in_tiles).abs().max() <= 1e-6


def test_cache_budget_decides_tiles_and_cleaning_chunks(monkeypatch):
    net = RealBasicVSRNet(**TINY_NET).eval()
    budget = 8 << 20
    px_bytes = 4 * 4 * 64 * 4  # 64-channel HR features of one LR pixel at x4
    # 90x160 -> 360x640 (59 MB) exceeds 4 x 8 MiB: tiles of the whole width, ~8 MiB
    assert net.cpu_cache_bytes == budget
    assert schedule.tile_shape(torch.zeros(1, 8, 90, 160), 4, budget, cpu=True) == \
        (budget // (160 * px_bytes), 160)
    # 360x640: the same tiles as at 90x160, four per row, not strips 4 rows high
    assert schedule.tile_shape(torch.zeros(1, 8, 360, 640), 4, budget, cpu=True) == (12, 160)
    assert schedule.tile_shape(torch.zeros(1, 8, 40, 64), 4, budget, cpu=True) is None  # fits
    # never fewer than 4 rows: the tile narrows instead
    assert schedule.tile_shape(torch.zeros(1, 8, 90, 160), 4, 1, cpu=True) == (4, 4)
    # another device: whole frames up to the device's piece size
    assert schedule.tile_shape(torch.zeros(1, 8, 90, 160), 4, schedule.DEVICE_PIECE_BYTES,
                               cpu=False) is None

    chunks = []
    residue = net.image_cleaning[1].forward
    monkeypatch.setattr(net.image_cleaning[1], 'forward',
                        lambda x: chunks.append(x.size(0)) or residue(x))
    # frames of 64x64 with 8 channels are 128 KiB of features: a 300 KiB budget cleans 2 at a time
    net.cpu_cache_bytes = 300 << 10
    with torch.no_grad():
        net._clean_once(torch.rand(5, 3, 64, 64))
    assert chunks == [2, 2, 1]
    chunks.clear()
    net._clean_once(torch.rand(5, 3, 64, 64))  # autograd: one batch, as MMagic
    assert chunks == [5]
    chunks.clear()
    net.train()
    with torch.no_grad():  # training mode (a validation step without eval()): whole, as MMagic
        net._clean_once(torch.rand(5, 3, 64, 64))
    net.eval()
    assert chunks == [5]
    chunks.clear()
    tiles = spy_tiles(monkeypatch)
    net.cpu_cache_bytes = 0  # off
    with torch.no_grad():
        net._clean_once(torch.rand(5, 3, 64, 64))
        net(clip(t=2, h=400, w=64))  # 1600x256 output: would be cut into tiles if on
    assert chunks == [5, 2] and tiles == []
    net.cpu_cache_bytes = 8 << 20
    with torch.no_grad():
        net(clip(t=2, h=400, w=64))
    assert tiles == [(32, 64), (32, 64)]  # 8 MiB / (4 * 4 * 64 columns * 64 channels * 4 bytes)


def test_flows_in_pieces_equal_one_spynet_call(monkeypatch):
    # at inference SPyNet runs on a few pairs per call; the flows equal the batched ones
    torch.manual_seed(0)
    net = RealBasicVSRNet(**TINY_NET).eval()
    lqs = clip(t=5)
    sizes = []
    spynet = net.basicvsr.spynet.forward
    monkeypatch.setattr(net.basicvsr.spynet, 'forward',
                        lambda ref, supp: sizes.append(ref.size(0)) or spynet(ref, supp))
    with torch.enable_grad():
        fwd, bwd = net.basicvsr.compute_flow(lqs)  # whole: one call, 2 x 4 pairs
    assert sizes == [8]
    sizes.clear()
    monkeypatch.setattr(schedule, 'FLOW_PIECE_PIXELS', 3 * 64 * 64)
    with torch.no_grad():
        fwd_p, bwd_p = net.basicvsr.compute_flow(lqs)
        mirrored = torch.cat([lqs[:, :2], lqs[:, :2].flip(1)], dim=1)
        none, bwd_m = net.basicvsr.compute_flow(mirrored)
    assert sizes == [3, 3, 2, 3]  # 8 pairs 3 at a time, then the 3 of the mirrored clip
    assert (fwd - fwd_p).abs().max() <= 1e-5 and (bwd - bwd_p).abs().max() <= 1e-5
    assert none is None and bwd_m.shape == (1, 3, 2, 64, 64)


def test_inference_schedule_equals_the_plain_network():
    # eval + no autograd (the schedule) against train mode + no autograd (every step whole),
    # same weights and input: paper-shaped pieces at toy size, one chunk of 4 frames
    torch.manual_seed(0)
    net = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=0, cpu_cache_bytes=1 << 20)
    lqs = clip(t=4, h=70, w=90)
    with torch.no_grad():
        plain = net.train()(lqs)
        scheduled = net.eval()(lqs)
        streamed = torch.stack(list(net.stream(lqs)), dim=1)
    assert (plain - scheduled).abs().max() <= 1e-5
    assert torch.equal(scheduled, streamed)


def test_weights_are_channels_last_by_construction_and_survive_loading():
    ours, theirs = tiny_pair()
    conv = ours.basicvsr.conv_hr.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    ours.load_state_dict(theirs.state_dict())  # MMagic's NCHW weights load into NHWC ones
    assert ours.basicvsr.conv_hr.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():  # and the activations follow
        feat = ours.basicvsr.conv_hr(torch.rand(1, 64, 8, 8))
    assert feat.is_contiguous(memory_format=torch.channels_last)


def test_cleaning_in_chunks_keeps_per_frame_refinement_and_mmagic_parity(monkeypatch):
    ours, theirs = tiny_pair(dynamic_refine_thres=0)
    lqs = clip(n=2, t=3)
    with torch.no_grad():
        whole = ours(lqs)
        ours.cpu_cache_bytes = 1  # one frame at a time
        chunked, cleaned = ours(lqs, return_lqs=True)
        ref, ref_cleaned = theirs(lqs.clone(), return_lqs=True)
    assert torch.all(ours.last_passes == 3)
    assert (chunked - whole).abs().max() <= 1e-5  # batch size changes float rounding only
    assert (chunked - ref).abs().max() <= 1e-5 and (cleaned - ref_cleaned).abs().max() <= 1e-5


def test_training_runs_the_frame_whole_with_autograd(monkeypatch):
    calls = spy_tiles(monkeypatch, shape=(4, 4))
    net = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=None)
    net(clip(t=2)).mean().backward()
    assert calls == [] and net.basicvsr.conv_hr.weight.grad is not None


def test_fixed_cleaning_gets_no_gradient_but_basicvsr_does():
    net = RealBasicVSRNet(**TINY_NET, is_fix_cleaning=True, dynamic_refine_thres=None)
    out, cleaned = net(clip(t=2), return_lqs=True)
    out.mean().backward()
    assert all(p.grad is None for p in net.image_cleaning.parameters())
    assert not cleaned.requires_grad
    assert net.basicvsr.conv_last.weight.grad is not None


def test_trainable_cleaning_gets_gradient_from_cleaned_frames():
    net = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=None)
    _, cleaned = net(clip(t=2), return_lqs=True)
    cleaned.mean().backward()
    assert net.image_cleaning[1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('bad, message', [
    (torch.rand(1, 3, 64, 64), r'\(n, t, 3, h, w\)'),
    (torch.rand(1, 2, 4, 64, 64), r'\(n, t, 3, h, w\)'),
    (torch.randint(0, 255, (1, 2, 3, 64, 64), dtype=torch.uint8), 'floating-point'),
])
def test_bad_input_names_the_expected_shape(bad, message):
    net = RealBasicVSRNet(**TINY_NET)
    with pytest.raises(ValueError, match=message):
        net(bad)


@pytest.mark.parametrize('kwargs', [dict(scale=3), dict(max_passes=0),
                                    dict(dynamic_refine_thres=-1), dict(mid_channels=0),
                                    dict(cpu_cache_bytes=-1)])
def test_bad_options_are_refused_when_built(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RealBasicVSRNet(**{**TINY_NET, **kwargs})


def test_registered_in_the_plugin_scope_only():
    assert MODELS.get('RealBasicVSRNet') is RealBasicVSRNet
    net = MODELS.build(dict(type='RealBasicVSRNet', **TINY_NET, scale=2))
    assert isinstance(net, RealBasicVSRNet) and net.scale == 2
