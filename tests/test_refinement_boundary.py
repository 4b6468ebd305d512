"""Eq. 5 at its boundary: a frame whose mean change equals theta exactly is cleaned again."""
import torch

from realbasicvsr_plugin.models import RealBasicVSRNet

from conftest import TINY_NET


def test_a_mean_change_equal_to_theta_continues_the_refinement():
    torch.manual_seed(0)
    net = RealBasicVSRNet(**TINY_NET, dynamic_refine_thres=0, max_passes=4).eval()
    last_conv = net.image_cleaning[-1]
    with torch.no_grad():  # every residue is then exactly 0, equal to theta = 0
        last_conv.weight.zero_()
        last_conv.bias.zero_()
    lqs = torch.rand(2, 3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, cleaned = net(lqs, return_lqs=True)
    assert torch.equal(net.last_passes, torch.full((2, 3), 4, dtype=torch.long))
    assert torch.equal(cleaned, lqs)  # zero residues leave the frames as they were
    net.set_refinement(1e-6, 4)  # just above the residues: one pass
    with torch.no_grad():
        net(lqs)
    assert torch.all(net.last_passes == 1)
