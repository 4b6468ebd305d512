"""How :class:`~.realbasicvsr_net.RealBasicVSRNet` runs at inference: the same numbers, in pieces.

The network file states the computation as the paper does. At inference, that is in eval mode
with autograd off (the plugin's command, MMagic's inferencer, ``mim test``), the network hands
four of its steps to this module, which computes exactly the same values in pieces:

* **Residual stacks** add each block's skip connection in place (MMagic's ``ResidualBlockNoBN``
  multiplies by ``res_scale == 1`` and allocates a fresh tensor per block).
* **Cleaning** runs a few frames at a time: as many as fit ``cpu_cache_bytes`` of features on a
  CPU, so activations stay in the caches; :data:`DEVICE_PIECE_BYTES` elsewhere, so activation
  memory does not grow with the chunk length.
* **Optical flow** (SPyNet) runs on a few frame pairs at a time (:data:`FLOW_PIECE_PIXELS`), both
  directions mixed, instead of all pairs of the chunk in one call.
* **Upsampling** (the x4 reconstruction and the bilinear base) runs in rectangular tiles of LR
  pixels, tiled in height *and* width, each with the halo its 3x3 convolutions need (recomputed);
  zero rows and columns stand in for the convolutions' padding only at the frame's borders, so
  every output pixel is computed from the same numbers as in one pass over the frame. On a CPU
  tiles hold about ``cpu_cache_bytes`` of HR features and are at most 160 LR columns wide (a
  640-column frame is cut into tiles of 12 x 160 LR pixels, the same as a 160-column frame,
  instead of strips 4 rows high); elsewhere about :data:`DEVICE_PIECE_BYTES`.

Training (autograd on) runs every step whole, as MMagic does. The results equal the plain
computation to float rounding (tests/test_realbasicvsr_net.py).
"""
import math
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

#: Default ``cpu_cache_bytes``: measured best on a 2-core AVX-512 CPU (2 MiB L2 per core, 32 MiB
#: L3) for 90x160 and 180x320 inputs (docs/benchmarks.md).
DEFAULT_CPU_CACHE_BYTES = 8 << 20

#: On devices other than the CPU: bytes of activations per piece of cleaning or upsampling.
DEVICE_PIECE_BYTES = 512 << 20

#: Frame pixels SPyNet works on per call at inference (frame pairs times pixels per frame).
FLOW_PIECE_PIXELS = 1 << 17

#: LR columns per upsampling tile on a CPU (the width at which the cache budget was tuned).
CPU_TILE_COLUMNS = 160

#: Channels of the HR features (fixed by the architecture).
HR_CHANNELS = 64


def applies(module: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``module`` runs its inference schedule on ``x``: eval mode, autograd off."""
    return not module.training and not torch.is_grad_enabled()


def piece_bytes(cpu_cache_bytes: int, x: torch.Tensor) -> int:
    """Bytes of activations per piece of work on ``x``'s device (0: whole)."""
    return cpu_cache_bytes if x.device.type == 'cpu' else DEVICE_PIECE_BYTES


def residual_stack(stack: nn.Module, feat: torch.Tensor) -> torch.Tensor:
    """``stack(feat)`` for MMagic's ``ResidualBlocksWithInputConv``, skips added in place.

    Args:
        stack (nn.Module): ``ResidualBlocksWithInputConv`` (input conv, LeakyReLU, blocks).
        feat (Tensor): Its input.

    Returns:
        Tensor: The same as ``stack(feat)``.
    """
    conv, act, blocks = stack.main
    feat = act(conv(feat))
    for block in blocks:
        if block.res_scale != 1.0:
            feat = block(feat)
            continue
        out = block.conv2(block.relu(block.conv1(feat)))
        feat = out.add_(feat)
    return feat


def frames_per_piece(frames: torch.Tensor, channels: int, budget: int) -> int:
    """How many of ``frames`` (b, c, h, w) to clean at once: their features fit ``budget``."""
    if budget <= 0:
        return frames.size(0)
    frame_bytes = frames.size(2) * frames.size(3) * channels * frames.element_size()
    return max(1, budget // frame_bytes)


def in_pieces(fn: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor,
              per_piece: int) -> torch.Tensor:
    """``fn(frames)`` computed ``per_piece`` frames at a time."""
    if per_piece >= frames.size(0):
        return fn(frames)
    return torch.cat([fn(piece) for piece in frames.split(per_piece)])


def flows(spynet: nn.Module, lrs: torch.Tensor, mirrored: bool
          ) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
    """Forward and backward flows of ``lrs`` (n, t, c, h, w), a few frame pairs per SPyNet call.

    Args:
        spynet (nn.Module): The flow network, ``spynet(ref, supp)``.
        lrs (Tensor): The frames.
        mirrored (bool): The sequence is mirror-extended: forward flows are not computed.

    Returns:
        tuple: ``(flows_forward or None, flows_backward)``, each (n, t-1, 2, h, w), equal to
        :meth:`~.realbasicvsr_net.BasicVSRCore.compute_flow`'s.
    """
    n, t, c, h, w = lrs.shape
    refs = lrs[:, :-1].reshape(-1, c, h, w)
    supps = lrs[:, 1:].reshape(-1, c, h, w)
    pairs = refs.size(0)
    # (ref, supp, destination index): backward flows first, then forward flows
    jobs = [(refs, supps)] if mirrored else [(refs, supps), (supps, refs)]
    out = lrs.new_empty(len(jobs) * pairs, 2, h, w)
    per_call = max(1, FLOW_PIECE_PIXELS // (h * w))
    total = len(jobs) * pairs
    for s0 in range(0, total, per_call):
        s1 = min(total, s0 + per_call)
        ref = torch.cat([jobs[k // pairs][0][k % pairs:k % pairs + 1] for k in range(s0, s1)])
        supp = torch.cat([jobs[k // pairs][1][k % pairs:k % pairs + 1] for k in range(s0, s1)])
        out[s0:s1] = spynet(ref, supp)
    out = out.view(len(jobs), n, t - 1, 2, h, w)
    return (None if mirrored else out[1]), out[0]


# ---------------------------------------------------------------------------------- upsampling
#: One upsampling step: (convolution, pixel-shuffle factor, LeakyReLU after).
Stage = Tuple[nn.Conv2d, int, bool]


def tile_shape(feat: torch.Tensor, scale: int, budget: int, cpu: bool
               ) -> Optional[Tuple[int, int]]:
    """LR rows and columns per upsampling tile; ``None`` for the whole frame.

    A tile holds about ``budget`` bytes of 64-channel HR features. On a CPU the frame is whole
    while its HR features fit ``4 * budget`` (measured: no gain below that), and tiles are at
    most :data:`CPU_TILE_COLUMNS` wide.

    Args:
        feat (Tensor): Fused LR features (n, c, h, w).
        scale (int): Upsampling factor.
        budget (int): Bytes of HR features per tile (0: whole frames).
        cpu (bool): Whether the work runs on a CPU.

    Returns:
        tuple | None: ``(rows, cols)``.
    """
    n, _, h, w = feat.shape
    px_bytes = n * scale**2 * HR_CHANNELS * feat.element_size()
    if budget <= 0 or h * w * px_bytes <= (4 if cpu else 1) * budget:
        return None
    cols = w
    if cpu and w > CPU_TILE_COLUMNS:
        cols = -(-w // -(-w // CPU_TILE_COLUMNS))  # equal widths of at most CPU_TILE_COLUMNS
    rows = budget // (cols * px_bytes)
    if rows < 4:  # a tile is at least 4 rows high: narrow the tile instead
        rows = min(h, 4)
        cols = max(4, min(cols, budget // (rows * px_bytes)))
    return min(rows, h), min(cols, w)


def _spans(lo: int, hi: int, stages: Sequence[Stage], sizes: List[int]) -> List[Tuple[int, int]]:
    """Along one axis: the input span each stage reads for output ``[lo, hi)`` of the last.

    Spans may reach outside ``[0, sizes[k])``: the convolution's zero padding goes there.
    """
    spans = [(0, 0)] * len(stages)
    for k in range(len(stages) - 1, -1, -1):
        conv, factor, _ = stages[k]
        pad = conv.padding[0]
        lo, hi = lo // factor - pad, -(-hi // factor) + pad
        spans[k] = (lo, hi)
        lo, hi = max(lo, 0), min(hi, sizes[k])
    return spans


def upsample_tile(stages: Sequence[Stage], act: Callable, feat: torch.Tensor,
                  rows: Tuple[int, int], cols: Tuple[int, int], scale: int) -> torch.Tensor:
    """The upsampling's output for LR rows ``rows`` and columns ``cols`` (without the base).

    Args:
        stages (Sequence[Stage]): The upsampling steps.
        act (Callable): The LeakyReLU.
        feat (Tensor): The whole frame's fused features (n, c, h, w).
        rows (tuple[int, int]): LR row range.
        cols (tuple[int, int]): LR column range.
        scale (int): Upsampling factor.

    Returns:
        Tensor: (n, C, scale * rows, scale * cols).
    """
    heights, widths = [feat.size(2)], [feat.size(3)]
    for _, factor, _ in stages:
        heights.append(heights[-1] * factor)
        widths.append(widths[-1] * factor)
    ys = _spans(rows[0] * scale, rows[1] * scale, stages, heights)
    xs = _spans(cols[0] * scale, cols[1] * scale, stages, widths)
    x = feat[:, :, max(ys[0][0], 0):min(ys[0][1], heights[0]),
             max(xs[0][0], 0):min(xs[0][1], widths[0])]
    for k, (conv, factor, has_act) in enumerate(stages):
        (ylo, yhi), (xlo, xhi) = ys[k], xs[k]
        pads = (max(0, -xlo), max(0, xhi - widths[k]), max(0, -ylo), max(0, yhi - heights[k]))
        if any(pads):
            x = F.pad(x, pads)
        x = F.conv2d(x, conv.weight, conv.bias)
        if factor > 1:
            x = F.pixel_shuffle(x, factor)
        if has_act:
            x = act(x)
        if k + 1 < len(stages):  # keep what the next step reads
            pad = conv.padding[0]
            y0, x0 = (ylo + pad) * factor, (xlo + pad) * factor
            (nylo, nyhi), (nxlo, nxhi) = ys[k + 1], xs[k + 1]
            x = x[:, :, max(nylo, 0) - y0:min(nyhi, heights[k + 1]) - y0,
                  max(nxlo, 0) - x0:min(nxhi, widths[k + 1]) - x0]
    return x


def upsample_in_tiles(stages: Sequence[Stage], act: Callable, feat: torch.Tensor,
                      base: torch.Tensor, scale: int, shape: Tuple[int, int]) -> torch.Tensor:
    """The upsampling of a whole frame computed tile by tile, plus ``base``.

    Args:
        stages (Sequence[Stage]): The upsampling steps.
        act (Callable): The LeakyReLU.
        feat (Tensor): Fused features (n, c, h, w).
        base (Tensor): The bilinearly upsampled LR frame (n, 3, scale*h, scale*w).
        scale (int): Upsampling factor.
        shape (tuple[int, int]): LR rows and columns per tile.

    Returns:
        Tensor: The HR frame, ``base`` plus the reconstruction.
    """
    h, w = feat.shape[-2:]
    rows, cols = shape
    out = torch.empty_like(base)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        for c0 in range(0, w, cols):
            c1 = min(w, c0 + cols)
            tile = upsample_tile(stages, act, feat, (r0, r1), (c0, c1), scale)
            a, b, c, d = r0 * scale, r1 * scale, c0 * scale, c1 * scale
            torch.add(tile, base[:, :, a:b, c:d], out=out[:, :, a:b, c:d])
    return out


def tiles_per_frame(h: int, w: int, shape: Optional[Tuple[int, int]]) -> int:
    """Number of upsampling tiles of a frame (1 when whole)."""
    if shape is None:
        return 1
    return math.ceil(h / shape[0]) * math.ceil(w / shape[1])
