"""RealBasicVSRNet: an image-cleaning module in front of BasicVSR.

Paper: Investigating Tradeoffs in Real-World Video Super-Resolution (Chan et al., CVPR 2022).

The network reads top to bottom as the paper does:

1. **Cleaning** (Sec. 3.2): a stack of residual blocks predicts a residue that is added to each LR
   frame independently, ``x^j = x^(j-1) + C(x^(j-1))``.
2. **Dynamic refinement** (Eq. 5): at test time the cleaning is repeated *per frame* while the mean
   absolute change of that frame's last pass is at least ``theta`` (0-255 pixel scale), up to
   ``max_passes``. Frames that have stopped are not recomputed.
3. **BasicVSR**: SPyNet optical flow, bidirectional recurrent propagation with residual blocks,
   and pixel-shuffle upsampling added to a bilinear upsampling of the cleaned frame.

Parameter names and the state-dict layout follow MMagic's ``RealBasicVSRNet`` so MMagic's released
checkpoints load with ``strict=True``. Deliberate differences from MMagic 1.2.0:

* refinement is decided per frame (Eq. 5), not on the mean over the whole batch and sequence, and the
  pass limit is configurable (MMagic fixes it at 3);
* ``scale`` may be 4 (paper), 2 or 1;
* the input tensor is never modified in place (MMagic's sequential cleaning writes into ``lqs``);
* forward and backward flows are computed in one SPyNet call;
* frames smaller than ``min_size`` are padded (replicate) and the output cropped back;
* at inference on a CPU the work is cut so that activations stay in the CPU caches: frames are
  cleaned a few at a time, and the x4 upsampling runs in horizontal strips (with the halo rows its
  3x3 convolutions need, so the result is the same). See ``cpu_cache_bytes``.
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.models.archs import PixelShufflePack
from mmagic.models.editors.basicvsr.basicvsr_net import (ResidualBlocksWithInputConv,
                                                         SPyNet)
from mmagic.models.utils import flow_warp
from mmengine.model import BaseModule

from realbasicvsr_plugin.registry import MODELS

SUPPORTED_SCALES = (1, 2, 4)

#: Default of ``cpu_cache_bytes``: measured best on a 2-core AVX-512 CPU (2 MiB L2 per core, 32 MiB
#: L3) for 90x160 and 180x320 inputs (docs/benchmarks.md).
DEFAULT_CPU_CACHE_BYTES = 8 << 20


def _cache_tiling(x: torch.Tensor, budget: int) -> bool:
    """Whether to cut the work into cache-sized pieces: inference (no autograd) on a CPU."""
    return budget > 0 and x.device.type == 'cpu' and not torch.is_grad_enabled()


def run_residual_stack(stack: ResidualBlocksWithInputConv, feat: torch.Tensor) -> torch.Tensor:
    """``stack(feat)``, with each residual block's skip connection added in place at inference.

    MMagic's ``ResidualBlockNoBN`` returns ``identity + out * res_scale``: with ``res_scale == 1``
    that is a multiplication by one and a fresh tensor per block. Without autograd the sum can be
    formed in the conv's output buffer instead; the result is the same.
    """
    if torch.is_grad_enabled():
        return stack(feat)
    conv, act, blocks = stack.main
    feat = act(conv(feat))
    for block in blocks:
        if block.res_scale != 1.0:
            feat = block(feat)
            continue
        out = block.conv2(block.relu(block.conv1(feat)))
        feat = out.add_(feat)
    return feat


class BasicVSRCore(BaseModule):
    """BasicVSR: SPyNet flow, bidirectional propagation and upsampling.

    The attribute names equal those of MMagic's ``BasicVSRNet`` (``spynet``,
    ``backward_resblocks``, ``forward_resblocks``, ``fusion``, ``upsample1``, ``upsample2``,
    ``conv_hr``, ``conv_last``) so that its weights load unchanged for ``scale=4``.

    Args:
        mid_channels (int): Channels of the propagated features. Default: 64.
        num_blocks (int): Residual blocks in each propagation branch. Default: 20.
        scale (int): Upsampling factor, one of 1, 2, 4. Default: 4.
        cpu_cache_bytes (int): At inference on a CPU, the x4 upsampling runs in strips of about
            this many bytes of features (0: whole frames). Default: 8 MiB.
    """

    def __init__(self, mid_channels: int = 64, num_blocks: int = 20, scale: int = 4,
                 cpu_cache_bytes: int = DEFAULT_CPU_CACHE_BYTES) -> None:
        super().__init__()
        self.mid_channels = mid_channels
        self.scale = scale
        self.cpu_cache_bytes = cpu_cache_bytes

        self.spynet = SPyNet(pretrained=None)
        self.backward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels,
                                                              num_blocks)
        self.forward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels,
                                                             num_blocks)

        self.fusion = nn.Conv2d(mid_channels * 2, mid_channels, 1, 1, 0, bias=True)
        if scale == 4:
            self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
            self.upsample2 = PixelShufflePack(mid_channels, 64, 2, upsample_kernel=3)
        elif scale == 2:
            self.upsample1 = PixelShufflePack(mid_channels, 64, 2, upsample_kernel=3)
            self.upsample2 = None
        else:
            self.upsample1 = nn.Conv2d(mid_channels, 64, 3, 1, 1)
            self.upsample2 = None
        self.conv_hr = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    @staticmethod
    def is_mirror_extended(lrs: torch.Tensor) -> bool:
        """Whether frame i equals frame t-1-i for every i (then one flow direction suffices)."""
        t = lrs.size(1)
        if t % 2:
            return False
        first, second = torch.chunk(lrs, 2, dim=1)
        return bool(torch.equal(first, second.flip(1)))

    def compute_flow(self, lrs: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """Optical flow between neighbours.

        Args:
            lrs (Tensor): LR frames, (n, t, c, h, w).

        Returns:
            tuple: ``flows_forward`` (frame i -> i-1, for forward-time propagation; ``None`` when
            the sequence is mirror-extended and it equals ``flows_backward.flip(1)``) and
            ``flows_backward`` (frame i -> i+1), each (n, t-1, 2, h, w).
        """
        n, t, c, h, w = lrs.size()
        lrs_1 = lrs[:, :-1].reshape(-1, c, h, w)
        lrs_2 = lrs[:, 1:].reshape(-1, c, h, w)
        if self.is_mirror_extended(lrs):
            return None, self.spynet(lrs_1, lrs_2).view(n, t - 1, 2, h, w)
        # one SPyNet call for both directions
        flows = self.spynet(torch.cat([lrs_1, lrs_2]), torch.cat([lrs_2, lrs_1]))
        flows_backward, flows_forward = flows.view(2, n, t - 1, 2, h, w).unbind(0)
        return flows_forward, flows_backward

    def upsample_stages(self) -> List[Tuple[nn.Conv2d, int, bool]]:
        """The upsampling as (convolution, pixel-shuffle factor, LeakyReLU after) steps."""
        if self.scale == 1:
            first = [(self.upsample1, 1, True)]
        else:
            first = [(self.upsample1.upsample_conv, 2, True)]
            if self.upsample2 is not None:
                first.append((self.upsample2.upsample_conv, 2, True))
        return first + [(self.conv_hr, 1, True), (self.conv_last, 1, False)]

    def upsample(self, feat: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        """Reconstruct one HR frame from fused features and add the upsampled LR frame."""
        if _cache_tiling(feat, self.cpu_cache_bytes):
            rows = self._strip_rows(feat)
            if rows < feat.size(2):
                return self._upsample_in_strips(feat, lr, rows)
        out = self.lrelu(self.upsample1(feat))
        if self.upsample2 is not None:
            out = self.lrelu(self.upsample2(out))
        out = self.lrelu(self.conv_hr(out))
        return self.conv_last(out) + self._upsampled_lr(lr)

    def _upsampled_lr(self, lr: torch.Tensor) -> torch.Tensor:
        """The LR frame upsampled bilinearly to the output size (the residual's base)."""
        if self.scale == 1:
            return lr
        return F.interpolate(lr, scale_factor=self.scale, mode='bilinear', align_corners=False)

    def _strip_rows(self, feat: torch.Tensor) -> int:
        """LR rows per upsampling strip; the whole frame when its HR features fit the caches."""
        n, _, h, w = feat.shape
        hr_row_bytes = n * self.scale**2 * w * 64 * feat.element_size()  # 64-channel HR features
        if h * hr_row_bytes <= 4 * self.cpu_cache_bytes:
            return h
        return max(4, self.cpu_cache_bytes // hr_row_bytes)

    def _upsample_in_strips(self, feat: torch.Tensor, lr: torch.Tensor,
                            rows: int) -> torch.Tensor:
        """``upsample`` computed in horizontal strips of ``rows`` LR rows.

        Each strip reads the halo rows its 3x3 convolutions need (recomputing them), and zero rows
        stand in for the convolutions' padding only at the frame's top and bottom, so every output
        pixel is computed from the same numbers as in one pass over the frame.
        """
        stages = self.upsample_stages()
        heights = [feat.size(2)]
        for _, factor, _ in stages:
            heights.append(heights[-1] * factor)
        base = self._upsampled_lr(lr)
        out = torch.empty_like(base)
        for s0 in range(0, heights[0], rows):
            s1 = min(s0 + rows, heights[0])
            # rows each step needs at its input (may reach outside the frame: zero padding)
            spans = [(0, 0)] * len(stages)
            lo, hi = s0 * self.scale, s1 * self.scale
            for k in range(len(stages) - 1, -1, -1):
                conv, factor, _ = stages[k]
                pad = conv.padding[0]
                lo, hi = lo // factor - pad, -(-hi // factor) + pad
                spans[k] = (lo, hi)
                lo, hi = max(lo, 0), min(hi, heights[k])
            x = feat[:, :, lo:hi]
            for k, (conv, factor, act) in enumerate(stages):
                lo, hi = spans[k]
                pad_top, pad_bottom = max(0, -lo), max(0, hi - heights[k])
                if pad_top or pad_bottom:
                    x = F.pad(x, (0, 0, pad_top, pad_bottom))
                x = F.conv2d(x, conv.weight, conv.bias, padding=(0, conv.padding[1]))
                if factor > 1:
                    x = F.pixel_shuffle(x, factor)
                if act:
                    x = self.lrelu(x)
                if k + 1 < len(stages):  # keep the rows the next step needs
                    start = (lo + conv.padding[0]) * factor
                    nlo, nhi = spans[k + 1]
                    x = x[:, :, max(nlo, 0) - start:min(nhi, heights[k + 1]) - start]
            a, b = s0 * self.scale, s1 * self.scale
            out[:, :, a:b] = x + base[:, :, a:b]
        return out

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        """Super-resolve a sequence.

        Args:
            lrs (Tensor): (n, t, c, h, w).

        Returns:
            Tensor: (n, t, c, scale*h, scale*w).
        """
        n, t, _, h, w = lrs.size()
        flows_forward, flows_backward = self.compute_flow(lrs) if t > 1 else (None, None)

        # backward-time propagation
        backward_feats = [None] * t
        feat_prop = lrs.new_zeros(n, self.mid_channels, h, w)
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat_prop = flow_warp(feat_prop, flows_backward[:, i].permute(0, 2, 3, 1))
            feat_prop = run_residual_stack(self.backward_resblocks,
                                           torch.cat([lrs[:, i], feat_prop], dim=1))
            backward_feats[i] = feat_prop

        # forward-time propagation, fusion and upsampling
        outputs = []
        feat_prop = torch.zeros_like(feat_prop)
        for i in range(t):
            lr_curr = lrs[:, i]
            if i > 0:
                flow = (flows_forward[:, i - 1]
                        if flows_forward is not None else flows_backward[:, -i])
                feat_prop = flow_warp(feat_prop, flow.permute(0, 2, 3, 1))
            feat_prop = run_residual_stack(self.forward_resblocks,
                                           torch.cat([lr_curr, feat_prop], dim=1))
            fused = self.lrelu(self.fusion(torch.cat([backward_feats[i], feat_prop], dim=1)))
            backward_feats[i] = None  # free as we go
            outputs.append(self.upsample(fused, lr_curr))
        return torch.stack(outputs, dim=1)


@MODELS.register_module()
class RealBasicVSRNet(BaseModule):
    """RealBasicVSR network: per-frame image cleaning, then BasicVSR.

    Paper setting: ``mid_channels=64``, ``num_cleaning_blocks=20``, ``num_propagation_blocks=20``
    per branch (40 in total), x4; 6.3 M parameters.

    Args:
        mid_channels (int): Channels of the intermediate features. Default: 64.
        num_propagation_blocks (int): Residual blocks in *each* propagation branch. Default: 20.
        num_cleaning_blocks (int): Residual blocks in the cleaning module. Default: 20.
        dynamic_refine_thres (float | None): theta of Eq. 5 on the 0-255 pixel scale: frame i gets
            another cleaning pass while the mean absolute change of its last pass is at least
            this. ``None`` means exactly one pass. The training value in MMagic's configs is 255
            (one pass in practice); the :class:`DynamicRefinementHook` switches to the test value
            (1.5, or 5 for GAN models) for validation and testing. Default: 255.
        spynet_pretrained (str, optional): Path or URL of SPyNet weights. Default: None.
        is_fix_cleaning (bool): Freeze the cleaning module; it then runs without autograd, so
            no loss reaches it (stage 2 of the paper). Default: False.
        is_sequential_cleaning (bool): Clean one frame at a time to save memory. Default: False.
        is_fix_spynet (bool): Keep SPyNet's weights fixed, as MMagic does (the paper starts from
            pretrained SPyNet). Set False to train it when no pretrained SPyNet is at hand.
            Default: True.
        scale (int): Upsampling factor: 4 (paper), 2 or 1. Default: 4.
        max_passes (int): Largest number of cleaning passes per frame. Default: 3 (as MMagic).
        min_size (int): Frames with a side shorter than this are padded (replicate) up to it and
            the output is cropped back; SPyNet is designed for inputs of at least 64. Default: 64.
        cpu_cache_bytes (int): At inference (no autograd) on a CPU, work on about this many bytes
            of activations at a time so they stay in the CPU's caches: frames are cleaned a few at
            a time and the x4 upsampling runs in strips. Results do not depend on it; 0 turns it
            off. Training and GPUs always run whole batches and frames. Default: 8 MiB.
        init_cfg (dict, optional): Initialisation config. Default: None.
    """

    def __init__(self,
                 mid_channels: int = 64,
                 num_propagation_blocks: int = 20,
                 num_cleaning_blocks: int = 20,
                 dynamic_refine_thres: Optional[float] = 255,
                 spynet_pretrained: Optional[str] = None,
                 is_fix_cleaning: bool = False,
                 is_sequential_cleaning: bool = False,
                 is_fix_spynet: bool = True,
                 scale: int = 4,
                 max_passes: int = 3,
                 min_size: int = 64,
                 cpu_cache_bytes: int = DEFAULT_CPU_CACHE_BYTES,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if scale not in SUPPORTED_SCALES:
            raise ValueError(f'RealBasicVSRNet: scale must be one of {SUPPORTED_SCALES}, '
                             f'got {scale!r}')
        for name, value in (('mid_channels', mid_channels),
                            ('num_propagation_blocks', num_propagation_blocks),
                            ('num_cleaning_blocks', num_cleaning_blocks)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'RealBasicVSRNet: {name} must be a positive integer, '
                                 f'got {value!r}')
        if not isinstance(min_size, int) or min_size < 1:
            raise ValueError(f'RealBasicVSRNet: min_size must be a positive integer, '
                             f'got {min_size!r}')
        if isinstance(cpu_cache_bytes, bool) or not isinstance(cpu_cache_bytes, int) \
                or cpu_cache_bytes < 0:
            raise ValueError('RealBasicVSRNet: cpu_cache_bytes must be an integer >= 0 '
                             f'(0: off), got {cpu_cache_bytes!r}')
        self.scale = scale
        self.mid_channels = mid_channels
        self.min_size = min_size
        self.is_sequential_cleaning = is_sequential_cleaning
        self.is_fix_cleaning = is_fix_cleaning
        self.set_refinement(dynamic_refine_thres, max_passes)
        #: passes each frame got in the last forward, LongTensor (n, t)
        self.last_passes: Optional[torch.Tensor] = None

        self.image_cleaning = nn.Sequential(
            ResidualBlocksWithInputConv(3, mid_channels, num_cleaning_blocks),
            nn.Conv2d(mid_channels, 3, 3, 1, 1, bias=True),
        )
        if is_fix_cleaning:
            self.image_cleaning.requires_grad_(False)

        self.basicvsr = BasicVSRCore(mid_channels, num_propagation_blocks, scale, cpu_cache_bytes)
        if is_fix_spynet:
            self.basicvsr.spynet.requires_grad_(False)
        if spynet_pretrained is not None:
            from .checkpoint import load_checkpoint
            load_checkpoint(self.basicvsr.spynet, spynet_pretrained, strict=True)

    @property
    def cpu_cache_bytes(self) -> int:
        """Bytes of activations worked on at a time at inference on a CPU (0: off)."""
        return self.basicvsr.cpu_cache_bytes

    @cpu_cache_bytes.setter
    def cpu_cache_bytes(self, value: int) -> None:
        self.basicvsr.cpu_cache_bytes = value

    # ------------------------------------------------------------------ refinement settings
    def set_refinement(self, dynamic_refine_thres: Optional[float],
                       max_passes: Optional[int] = None) -> None:
        """Set theta (0-255 scale, ``None`` for one pass) and optionally the pass limit."""
        if dynamic_refine_thres is not None:
            if isinstance(dynamic_refine_thres, bool) or not isinstance(
                    dynamic_refine_thres, (int, float)) or dynamic_refine_thres < 0:
                raise ValueError('RealBasicVSRNet: dynamic_refine_thres must be a number >= 0 '
                                 f'(0-255 pixel scale) or None, got {dynamic_refine_thres!r}')
        if max_passes is not None:
            if isinstance(max_passes, bool) or not isinstance(max_passes, int) or max_passes < 1:
                raise ValueError(f'RealBasicVSRNet: max_passes must be an integer >= 1, '
                                 f'got {max_passes!r}')
            self.max_passes = max_passes
        self.dynamic_refine_thres = dynamic_refine_thres

    # ------------------------------------------------------------------ cleaning
    def _clean_once(self, frames: torch.Tensor) -> torch.Tensor:
        """Residue of one cleaning pass for a batch of frames (b, c, h, w)."""
        def residue(x):
            return self.image_cleaning[1](run_residual_stack(self.image_cleaning[0], x))

        if self.is_sequential_cleaning:
            chunk = 1
        elif _cache_tiling(frames, self.cpu_cache_bytes):
            frame_bytes = frames.size(2) * frames.size(3) * self.mid_channels * \
                frames.element_size()
            chunk = max(1, self.cpu_cache_bytes // frame_bytes)
        else:
            return residue(frames)
        if chunk >= frames.size(0):
            return residue(frames)
        return torch.cat([residue(f) for f in frames.split(chunk)])

    def clean(self, lqs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Clean every frame, with per-frame dynamic refinement (Eq. 5).

        Args:
            lqs (Tensor): (n, t, c, h, w), values in [0, 1].

        Returns:
            tuple: cleaned frames (n, t, c, h, w) and passes per frame, LongTensor (n, t).
        """
        n, t, c, h, w = lqs.shape
        frames = lqs.reshape(n * t, c, h, w)
        passes = torch.ones(n * t, dtype=torch.long, device=lqs.device)
        theta = self.dynamic_refine_thres
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.is_fix_cleaning):
            residues = self._clean_once(frames)
            frames = frames + residues
            if theta is not None and self.max_passes > 1:
                thres = theta / 255.
                active = torch.nonzero(
                    residues.abs().mean(dim=(1, 2, 3)) >= thres).flatten()
                for _ in range(self.max_passes - 1):
                    if active.numel() == 0:
                        break
                    sub = frames.index_select(0, active)
                    residues = self._clean_once(sub)
                    frames = frames.index_copy(0, active, sub + residues)
                    passes.index_add_(0, active, torch.ones_like(active))
                    active = active[residues.abs().mean(dim=(1, 2, 3)) >= thres]
        return frames.view(n, t, c, h, w), passes.view(n, t)

    # ------------------------------------------------------------------ forward
    def _check_input(self, lqs: torch.Tensor) -> None:
        if not isinstance(lqs, torch.Tensor):
            raise TypeError(f'RealBasicVSRNet expects a torch.Tensor of shape (n, t, 3, h, w), '
                            f'got {type(lqs).__name__}')
        if lqs.dim() != 5 or lqs.size(2) != 3:
            raise ValueError('RealBasicVSRNet expects frames of shape (n, t, 3, h, w) '
                             f'(batch, time, RGB, height, width), got {tuple(lqs.shape)}')
        if not lqs.is_floating_point():
            raise ValueError(f'RealBasicVSRNet expects floating-point frames in [0, 1] of shape '
                             f'(n, t, 3, h, w), got dtype {lqs.dtype}')
        if lqs.size(0) == 0 or lqs.size(1) == 0 or lqs.size(3) == 0 or lqs.size(4) == 0:
            raise ValueError(f'RealBasicVSRNet got an empty input of shape {tuple(lqs.shape)}')

    def forward(self, lqs: torch.Tensor, return_lqs: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Clean and super-resolve a sequence.

        Args:
            lqs (Tensor): LR frames (n, t, 3, h, w), RGB in [0, 1]. Not modified.
            return_lqs (bool): Also return the cleaned LR frames (for the cleaning loss).

        Returns:
            Tensor | tuple: HR frames (n, t, 3, scale*h, scale*w), and the cleaned LR frames
            (n, t, 3, h, w) when ``return_lqs``. The passes per frame are in ``last_passes``.
        """
        self._check_input(lqs)
        h, w = lqs.shape[-2:]
        pad_h, pad_w = max(0, self.min_size - h), max(0, self.min_size - w)
        if pad_h or pad_w:
            n, t = lqs.shape[:2]
            lqs = F.pad(lqs.flatten(0, 1), (0, pad_w, 0, pad_h),
                        mode='replicate').unflatten(0, (n, t))

        cleaned, self.last_passes = self.clean(lqs)
        outputs = self.basicvsr(cleaned)

        if pad_h or pad_w:
            outputs = outputs[..., :h * self.scale, :w * self.scale]
            cleaned = cleaned[..., :h, :w]
        return (outputs, cleaned) if return_lqs else outputs
