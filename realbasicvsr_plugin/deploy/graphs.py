"""The network in the two forms that are exported to ONNX.

:class:`RealBasicVSRNet` is written for PyTorch: its data-dependent parts (dynamic refinement's
per-frame stopping, the mirror-extension shortcut of the flow, the CPU cache tiling, the padding
of small frames) are Python control flow that a graph cannot hold. The exported graphs keep the
arithmetic and leave that control to the runtime (:mod:`.onnx_runtime_net`):

* :class:`CleaningGraph`: one cleaning pass ``C(x)`` on a batch of frames, returning the residue;
  the runtime adds it, measures each frame's mean absolute change and decides (Eq. 5) which frames
  get another pass.
* :class:`BasicVSRGraph`: BasicVSR on a chunk of cleaned frames: SPyNet flow between neighbours
  in both directions (one call), backward and forward propagation as two ``scan`` loops (ONNX
  ``Scan``), fusion and upsampling. Batch, chunk length, height and width are all dynamic.

Both read the weights of a :class:`~realbasicvsr_plugin.models.RealBasicVSRNet` through its
submodules (whose names follow MMagic's state-dict layout) and run them on the plain path, never
the CPU fast path.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch._higher_order_ops.scan import scan


class CleaningGraph(nn.Module):
    """One cleaning pass: the residue ``C(x)`` of Sec. 3.2 for each frame of a batch.

    Args:
        net (nn.Module): A ``RealBasicVSRNet`` (its ``image_cleaning`` is used).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.image_cleaning = net.image_cleaning

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Residue of one cleaning pass.

        Args:
            frames (Tensor): (b, 3, h, w) RGB in [0, 1].

        Returns:
            Tensor: (b, 3, h, w); the cleaned frames are ``frames + residue``.
        """
        return self.image_cleaning(frames)


def sampling_grids(flows: torch.Tensor) -> torch.Tensor:
    """Normalised ``grid_sample`` grids of ``flow_warp`` for a stack of flows.

    This is the grid MMagic's ``flow_warp`` builds inside each call, computed for all frames
    at once outside the recurrence (a loop body cannot hold the size arithmetic on dynamic
    dimensions).

    Args:
        flows (Tensor): (b, 2, h, w) flows in pixels (x, y).

    Returns:
        Tensor: (b, h, w, 2) grids in [-1, 1] (``align_corners=True``).
    """
    _, _, h, w = flows.shape
    grid_y, grid_x = torch.meshgrid(torch.arange(0, h, device=flows.device),
                                    torch.arange(0, w, device=flows.device), indexing='ij')
    grid = torch.stack((grid_x, grid_y), 2).type_as(flows)
    grid_flow = grid + flows.permute(0, 2, 3, 1)
    grid_flow_x = 2.0 * grid_flow[..., 0] / max(w - 1, 1) - 1.0
    grid_flow_y = 2.0 * grid_flow[..., 1] / max(h - 1, 1) - 1.0
    return torch.stack((grid_flow_x, grid_flow_y), dim=3)


class BasicVSRGraph(nn.Module):
    """BasicVSR on a chunk of cleaned frames, as one graph with dynamic chunk length.

    Equals ``net.basicvsr(lrs)``: the flows of both directions come from one SPyNet call on the
    ``t - 1`` neighbour pairs (the PyTorch path's mirror-extension shortcut computes the same
    values with half the work; a graph computes both), and each recurrence is a ``scan`` over the
    frames. The first step of each direction warps the zero initial state with a zero flow, which
    gives zeros, as the PyTorch path's unwarped zero state.

    Args:
        net (nn.Module): A ``RealBasicVSRNet`` (its ``basicvsr`` is used).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        core = net.basicvsr
        self.scale = int(core.scale)
        self.mid_channels = int(core.mid_channels)
        self.spynet = core.spynet
        self.backward_resblocks = core.backward_resblocks
        self.forward_resblocks = core.forward_resblocks
        self.fusion = core.fusion
        self.upsample1 = core.upsample1
        self.upsample2 = core.upsample2
        self.conv_hr = core.conv_hr
        self.conv_last = core.conv_last
        self.lrelu = nn.LeakyReLU(negative_slope=0.1)

    def spynet_flow(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """``SPyNet.forward`` with its sizes computed without a branch on the input size.

        SPyNet resizes its inputs to multiples of 32; MMagic's ``w if w % 32 == 0 else ...``
        is a condition on a dynamic dimension, which an exported graph cannot hold. Rounding up
        with ``-(-w // 32) * 32`` gives the same size in both cases.

        Args:
            ref (Tensor): (b, 3, h, w) reference frames.
            supp (Tensor): (b, 3, h, w) frames to warp to the reference.

        Returns:
            Tensor: (b, 2, h, w) flows.
        """
        h, w = ref.shape[2:4]
        h_up, w_up = (h + 31) // 32 * 32, (w + 31) // 32 * 32
        ref = F.interpolate(ref, size=(h_up, w_up), mode='bilinear', align_corners=False)
        supp = F.interpolate(supp, size=(h_up, w_up), mode='bilinear', align_corners=False)
        flow = F.interpolate(self.spynet.compute_flow(ref, supp), size=(h, w), mode='bilinear',
                             align_corners=False)
        return torch.cat([flow[:, :1] * (w / w_up), flow[:, 1:] * (h / h_up)], dim=1)

    def upsample(self, feat: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        """One HR frame from fused features plus the bilinearly upsampled LR frame."""
        out = self.lrelu(self.upsample1(feat))
        if self.upsample2 is not None:
            out = self.lrelu(self.upsample2(out))
        out = self.lrelu(self.conv_hr(out))
        base = lr if self.scale == 1 else F.interpolate(
            lr, scale_factor=self.scale, mode='bilinear', align_corners=False)
        return self.conv_last(out) + base

    def flows(self, lrs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sampling grids of both propagation directions, one per frame (first: zero flow).

        Args:
            lrs (Tensor): (n, t, 3, h, w).

        Returns:
            tuple: ``grids_backward`` (n, t, h, w, 2), frame ``i`` warped from ``i + 1`` (the
            last frame gets a zero flow), and ``grids_forward``, frame ``i`` from ``i - 1`` (the
            first gets a zero flow).
        """
        n, t, c, h, w = lrs.shape
        lrs_1 = lrs[:, :-1].reshape(-1, c, h, w)
        lrs_2 = lrs[:, 1:].reshape(-1, c, h, w)
        flows = self.spynet_flow(torch.cat([lrs_1, lrs_2]), torch.cat([lrs_2, lrs_1]))
        flows = flows.view(2, n, t - 1, 2, h, w)
        zero = lrs.new_zeros(n, 1, 2, h, w)
        backward = torch.cat([flows[0], zero], dim=1)  # i -> i+1
        forward = torch.cat([zero, flows[1]], dim=1)  # i -> i-1
        grids_backward = sampling_grids(backward.reshape(n * t, 2, h, w)).view(n, t, h, w, 2)
        grids_forward = sampling_grids(forward.reshape(n * t, 2, h, w)).view(n, t, h, w, 2)
        return grids_backward, grids_forward

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        """Super-resolve a chunk of cleaned frames.

        Args:
            lrs (Tensor): (n, t, 3, h, w) cleaned frames.

        Returns:
            Tensor: (n, t, 3, scale*h, scale*w).
        """
        n, t, _, h, w = lrs.shape
        grids_backward, grids_forward = self.flows(lrs)
        init = lrs.new_zeros(n, self.mid_channels, h, w)
        frames = lrs.transpose(0, 1)  # (t, n, 3, h, w): scan runs over dim 0

        def backward_step(feat, xs):
            lr, grid = xs
            feat = F.grid_sample(feat, grid, mode='bilinear', padding_mode='zeros',
                                 align_corners=True)
            feat = self.backward_resblocks(torch.cat([lr, feat], dim=1))
            return feat, feat.clone()

        _, backward_feats = scan(backward_step, init,
                                 (frames.flip(0), grids_backward.transpose(0, 1).flip(0)))
        backward_feats = backward_feats.flip(0)

        def forward_step(feat, xs):
            lr, grid, feat_backward = xs
            feat = F.grid_sample(feat, grid, mode='bilinear', padding_mode='zeros',
                                 align_corners=True)
            feat = self.forward_resblocks(torch.cat([lr, feat], dim=1))
            fused = self.lrelu(self.fusion(torch.cat([feat_backward, feat], dim=1)))
            return feat, self.upsample(fused, lr)

        _, outputs = scan(forward_step, init,
                          (frames, grids_forward.transpose(0, 1), backward_feats))
        return outputs.transpose(0, 1)

