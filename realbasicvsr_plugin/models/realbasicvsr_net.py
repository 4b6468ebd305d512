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
* the weights are in ``channels_last`` memory format from construction (NHWC convolutions are
  about twice as fast on CPUs and tensor-core GPUs; state dicts load and save unchanged);
* at inference (eval mode, autograd off) four steps run in pieces with the same results, so that
  activations stay in the CPU's caches and memory does not grow with the chunk:
  :mod:`.inference_schedule` (``cpu_cache_bytes``);
* :meth:`RealBasicVSRNet.stream` hands out the HR frames one at a time as they are produced.
"""
import math
from typing import Callable, Iterator, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.models.archs import PixelShufflePack
from mmagic.models.editors.basicvsr.basicvsr_net import (ResidualBlocksWithInputConv,
                                                         SPyNet)
from mmagic.models.utils import flow_warp
from mmengine.model import BaseModule

from realbasicvsr_plugin.registry import MODELS

from . import inference_schedule as schedule
from .inference_schedule import DEFAULT_CPU_CACHE_BYTES

SUPPORTED_SCALES = (1, 2, 4)


class BasicVSRCore(BaseModule):
    """BasicVSR: SPyNet flow, bidirectional propagation and upsampling.

    The attribute names equal those of MMagic's ``BasicVSRNet`` (``spynet``,
    ``backward_resblocks``, ``forward_resblocks``, ``fusion``, ``upsample1``, ``upsample2``,
    ``conv_hr``, ``conv_last``) so that its weights load unchanged for ``scale=4``.

    Args:
        mid_channels (int): Channels of the propagated features. Default: 64.
        num_blocks (int): Residual blocks in each propagation branch. Default: 20.
        scale (int): Upsampling factor, one of 1, 2, 4. Default: 4.
        cpu_cache_bytes (int): At inference on a CPU, the upsampling runs in tiles of about
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
        mirrored = self.is_mirror_extended(lrs)
        if schedule.applies(self, lrs):  # a few pairs per call
            return schedule.flows(self.spynet, lrs, mirrored)
        lrs_1 = lrs[:, :-1].reshape(-1, c, h, w)
        lrs_2 = lrs[:, 1:].reshape(-1, c, h, w)
        if mirrored:
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
        if schedule.applies(self, feat):  # in tiles with halos
            shape = schedule.tile_shape(feat, self.scale,
                                        schedule.piece_bytes(self.cpu_cache_bytes, feat),
                                        cpu=feat.device.type == 'cpu')
            if shape is not None:
                return schedule.upsample_in_tiles(self.upsample_stages(), self.lrelu, feat,
                                                  self._upsampled_lr(lr), self.scale, shape)
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

    def _residual_stack(self, stack: ResidualBlocksWithInputConv,
                        feat: torch.Tensor) -> torch.Tensor:
        if schedule.applies(self, feat):  # skips added in place
            return schedule.residual_stack(stack, feat)
        return stack(feat)

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        """Super-resolve a sequence.

        Args:
            lrs (Tensor): (n, t, c, h, w).

        Returns:
            Tensor: (n, t, c, scale*h, scale*w).
        """
        return torch.stack(list(self.frames(lrs)), dim=1)

    def frames(self, lrs: torch.Tensor) -> Iterator[torch.Tensor]:
        """Super-resolve a sequence, yielding each HR frame (n, c, scale*h, scale*w) in turn.

        Args:
            lrs (Tensor): (n, t, c, h, w).

        Yields:
            Tensor: The HR frames, first to last.
        """
        n, t, _, h, w = lrs.size()
        flows_forward, flows_backward = self.compute_flow(lrs) if t > 1 else (None, None)

        # backward-time propagation
        backward_feats = [None] * t
        feat_prop = lrs.new_zeros(n, self.mid_channels, h, w)
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat_prop = flow_warp(feat_prop, flows_backward[:, i].permute(0, 2, 3, 1))
            feat_prop = self._residual_stack(self.backward_resblocks,
                                             torch.cat([lrs[:, i], feat_prop], dim=1))
            backward_feats[i] = feat_prop

        # forward-time propagation, fusion and upsampling
        feat_prop = torch.zeros_like(feat_prop)
        for i in range(t):
            lr_curr = lrs[:, i]
            if i > 0:
                flow = (flows_forward[:, i - 1]
                        if flows_forward is not None else flows_backward[:, -i])
                feat_prop = flow_warp(feat_prop, flow.permute(0, 2, 3, 1))
            feat_prop = self._residual_stack(self.forward_resblocks,
                                             torch.cat([lr_curr, feat_prop], dim=1))
            fused = self.lrelu(self.fusion(torch.cat([backward_feats[i], feat_prop], dim=1)))
            backward_feats[i] = None  # free as we go
            yield self.upsample(fused, lr_curr)


def check_refinement(dynamic_refine_thres: Optional[float],
                     max_passes: Optional[int] = None) -> None:
    """The one rule for the settings of dynamic refinement (Eq. 5), used by the network, the
    :class:`DynamicRefinementHook` and the inference options alike.

    Args:
        dynamic_refine_thres (float | None): theta on the 0-255 pixel scale: a finite number
            >= 0, or ``None`` for one cleaning pass.
        max_passes (int | None): The pass limit, an integer >= 1 (``None``: not given).

    Raises:
        ValueError: A setting outside its rule, naming the parameter.
    """
    if dynamic_refine_thres is not None and (
            isinstance(dynamic_refine_thres, bool)
            or not isinstance(dynamic_refine_thres, (int, float))
            or not math.isfinite(dynamic_refine_thres) or dynamic_refine_thres < 0):
        raise ValueError('dynamic_refine_thres must be a finite number >= 0 (0-255 pixel '
                         f'scale) or None, got {dynamic_refine_thres!r}')
    if max_passes is not None and (isinstance(max_passes, bool)
                                   or not isinstance(max_passes, int) or max_passes < 1):
        raise ValueError(f'max_passes must be an integer >= 1, got {max_passes!r}')


def apply_refinement(net: object, dynamic_refine_thres: Optional[float],
                     max_passes: Optional[int] = None) -> None:
    """Check the refinement settings by :func:`check_refinement` and set them on a network.

    The ``set_refinement`` of :class:`RealBasicVSRNet` and of the ONNX Runtime network.

    Args:
        net (object): Has ``dynamic_refine_thres`` and ``max_passes`` attributes.
        dynamic_refine_thres (float | None): theta (0-255 scale), ``None`` for one pass.
        max_passes (int | None): The pass limit; ``None`` keeps the network's.

    Raises:
        ValueError: A setting outside its rule, naming the network's class and the parameter.
    """
    try:
        check_refinement(dynamic_refine_thres, max_passes)
    except ValueError as err:
        raise ValueError(f'{type(net).__name__}: {err}') from None
    if max_passes is not None:
        net.max_passes = max_passes
    net.dynamic_refine_thres = dynamic_refine_thres


def clean_per_frame(lqs: torch.Tensor, clean_once: Callable[[torch.Tensor], torch.Tensor],
                    dynamic_refine_thres: Optional[float], max_passes: int
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The cleaning stage with per-frame dynamic refinement (Eq. 5).

    Every frame gets one pass, ``x^j = x^(j-1) + C(x^(j-1))``; a frame gets another while the
    mean absolute change of its last pass is at least theta (0-255 scale), up to
    ``max_passes``. Frames that stopped are not recomputed.

    Args:
        lqs (Tensor): (n, t, c, h, w), values in [0, 1].
        clean_once (Callable): The residue ``C(x)`` of one pass for a batch of frames
            (b, c, h, w).
        dynamic_refine_thres (float | None): theta; ``None``: one pass.
        max_passes (int): The pass limit.

    Returns:
        tuple: cleaned frames (n, t, c, h, w) and passes per frame, LongTensor (n, t).
    """
    n, t, c, h, w = lqs.shape
    frames = lqs.reshape(n * t, c, h, w)
    passes = torch.ones(n * t, dtype=torch.long, device=lqs.device)
    residues = clean_once(frames)
    frames = frames + residues
    if dynamic_refine_thres is not None and max_passes > 1:
        thres = dynamic_refine_thres / 255.
        active = torch.nonzero(residues.abs().mean(dim=(1, 2, 3)) >= thres).flatten()
        for _ in range(max_passes - 1):
            if active.numel() == 0:
                break
            sub = frames.index_select(0, active)
            residues = clean_once(sub)
            frames = frames.index_copy(0, active, sub + residues)
            passes.index_add_(0, active, torch.ones_like(active))
            active = active[residues.abs().mean(dim=(1, 2, 3)) >= thres]
    return frames.view(n, t, c, h, w), passes.view(n, t)


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
        cpu_cache_bytes (int): At inference (eval mode, no autograd) on a CPU, work on about this
            many bytes of activations at a time so they stay in the CPU's caches: frames are
            cleaned a few at a time and the upsampling runs in tiles (see
            :mod:`.inference_schedule`). Results do not depend on it; 0 runs whole frames.
            Training always runs whole batches and frames. Default: 8 MiB.
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
        # NHWC weights make every convolution produce NHWC activations, the fast layout of
        # oneDNN and cuDNN; loading a state dict copies into them and keeps the layout
        self.to(memory_format=torch.channels_last)

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
        apply_refinement(self, dynamic_refine_thres, max_passes)

    # ------------------------------------------------------------------ cleaning
    def _clean_once(self, frames: torch.Tensor) -> torch.Tensor:
        """Residue of one cleaning pass for a batch of frames (b, c, h, w)."""
        def residue(x):
            return self.image_cleaning[1](self.basicvsr._residual_stack(self.image_cleaning[0], x))

        if self.is_sequential_cleaning:
            per_piece = 1
        elif schedule.applies(self, frames):  # a few frames at a time
            per_piece = schedule.frames_per_piece(
                frames, self.mid_channels, schedule.piece_bytes(self.cpu_cache_bytes, frames))
        else:
            return residue(frames)
        return schedule.in_pieces(residue, frames, per_piece)

    def clean(self, lqs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Clean every frame, with per-frame dynamic refinement (Eq. 5).

        Args:
            lqs (Tensor): (n, t, c, h, w), values in [0, 1].

        Returns:
            tuple: cleaned frames (n, t, c, h, w) and passes per frame, LongTensor (n, t).
        """
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.is_fix_cleaning):
            return clean_per_frame(lqs, self._clean_once, self.dynamic_refine_thres,
                                   self.max_passes)

    def clean_once(self, lqs: torch.Tensor) -> torch.Tensor:
        """One cleaning pass on every frame, ``x + C(x)``, whatever theta is set.

        The training editor's repeated-cleaning loss runs it on frames the network has already
        cleaned. Without autograd when the cleaning module is frozen.

        Args:
            lqs (Tensor): (n, t, c, h, w).

        Returns:
            Tensor: (n, t, c, h, w).
        """
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.is_fix_cleaning):
            return clean_per_frame(lqs, self._clean_once, None, 1)[0]

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

    def _pad(self, lqs: torch.Tensor) -> Tuple[torch.Tensor, bool]:
        """Frames padded (replicate) to at least ``min_size``, and whether they were."""
        h, w = lqs.shape[-2:]
        pad_h, pad_w = max(0, self.min_size - h), max(0, self.min_size - w)
        if not (pad_h or pad_w):
            return lqs, False
        n, t = lqs.shape[:2]
        return F.pad(lqs.flatten(0, 1), (0, pad_w, 0, pad_h),
                     mode='replicate').unflatten(0, (n, t)), True

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
        lqs, padded = self._pad(lqs)

        cleaned, self.last_passes = self.clean(lqs)
        outputs = self.basicvsr(cleaned)

        if padded:
            outputs = outputs[..., :h * self.scale, :w * self.scale]
            cleaned = cleaned[..., :h, :w]
        # in the default layout: the channels_last convolutions leave frames that a caller's
        # ``view`` (MMagic's editors) cannot reshape
        outputs = outputs.contiguous()
        return (outputs, cleaned.contiguous()) if return_lqs else outputs

    def stream(self, lqs: torch.Tensor) -> Iterator[torch.Tensor]:
        """Like :meth:`forward`, handing out the HR frames one at a time as they are produced.

        Only one HR frame exists at a time, instead of the whole sequence's.

        Args:
            lqs (Tensor): LR frames (n, t, 3, h, w), RGB in [0, 1]. Not modified.

        Yields:
            Tensor: HR frame i, (n, 3, scale*h, scale*w), for i = 0 .. t-1.
        """
        self._check_input(lqs)
        h, w = lqs.shape[-2:]
        lqs, padded = self._pad(lqs)
        cleaned, self.last_passes = self.clean(lqs)
        for out in self.basicvsr.frames(cleaned):
            yield out[..., :h * self.scale, :w * self.scale] if padded else out
