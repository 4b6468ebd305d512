"""Run a video model on large frames tile by tile, blending the overlaps.

Frames too large for the device's memory are cut into ``tile x tile`` pixel tiles (in input
pixels) that overlap by ``overlap`` pixels; every tile is restored over the whole chunk of frames
(the recurrence still sees the full sequence), and in the overlaps the outputs are cross-faded
with linear ramps, so the seams do not show. The last tile of a row or column is aligned to the
frame's edge, so every tile has the full size.
"""
from typing import Callable, List, Optional

import torch

#: ``(n, t, C, h, w) -> (n, t, C, s*h, s*w)``.
ModelFn = Callable[[torch.Tensor], torch.Tensor]


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)`` with a given overlap.

    Args:
        length (int): Size of the frame along one axis.
        tile (int): Tile size along that axis.
        overlap (int): Minimum overlap of neighbouring tiles.

    Returns:
        list[int]: Increasing start offsets; the last tile ends at ``length``.
    """
    if tile >= length:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def ramp_window(size: int, ramp: int, rise: bool, fall: bool,
                device: Optional[torch.device] = None) -> torch.Tensor:
    """A 1-D blending window: linear ramps of ``ramp`` pixels at the sides that have a neighbour.

    On the sides where ``rise``/``fall`` is set, the weight climbs from ``0.5 / ramp`` to 1 over
    ``ramp`` pixels; two neighbouring tiles that overlap by exactly ``ramp`` pixels therefore have
    weights summing to one across the overlap.

    Args:
        size (int): Window length.
        ramp (int): Ramp length in pixels (0 for a flat window).
        rise (bool): Ramp up at the start (there is a tile before).
        fall (bool): Ramp down at the end (there is a tile after).
        device (torch.device, optional): Device of the result.

    Returns:
        torch.Tensor: ``(size,)`` weights in (0, 1].
    """
    weights = torch.ones(size, device=device)
    if ramp <= 0:
        return weights
    pos = torch.arange(size, device=device, dtype=torch.float32)
    if rise:
        weights = torch.minimum(weights, (pos + 0.5) / ramp)
    if fall:
        weights = torch.minimum(weights, (size - pos - 0.5) / ramp)
    return weights


class SpatialTiler:
    """Apply a video model tile by tile.

    Args:
        tile (int, optional): Tile size in input pixels; ``None`` or 0 disables tiling.
        overlap (int): Overlap of neighbouring tiles in input pixels; at most half the tile.
            Defaults to 16.
    """

    def __init__(self, tile: Optional[int] = None, overlap: int = 16) -> None:
        tile = tile or None
        if tile is not None:
            if tile < 1:
                raise ValueError(f'tile must be positive (0 = off), got {tile}')
            if overlap < 0 or 2 * overlap > tile:
                raise ValueError(f'tile_overlap must be in 0..{tile // 2} (at most half the tile), '
                                 f'got {overlap}')
        self.tile = tile
        self.overlap = overlap

    def __call__(self, lqs: torch.Tensor, fn: ModelFn) -> torch.Tensor:
        """Restore ``lqs`` with ``fn``, tile by tile when the frames exceed the tile size.

        Args:
            lqs (torch.Tensor): ``(n, t, C, h, w)`` input frames.
            fn (ModelFn): The model.

        Returns:
            torch.Tensor: ``(n, t, C, s*h, s*w)``, as ``fn(lqs)`` would give.
        """
        h, w = lqs.shape[-2:]
        if self.tile is None or (self.tile >= h and self.tile >= w):
            return fn(lqs)
        tile_h, tile_w = min(self.tile, h), min(self.tile, w)
        ys = tile_starts(h, tile_h, self.overlap)
        xs = tile_starts(w, tile_w, self.overlap)
        out = weight_sum = None
        scale = None
        for y in ys:
            for x in xs:
                piece = fn(lqs[..., y:y + tile_h, x:x + tile_w])
                if out is None:
                    scale = piece.shape[-1] // tile_w
                    out = piece.new_zeros(*piece.shape[:-2], h * scale, w * scale)
                    weight_sum = piece.new_zeros(h * scale, w * scale)
                ramp = self.overlap * scale
                wy = ramp_window(tile_h * scale, ramp, y > 0, y + tile_h < h, piece.device)
                wx = ramp_window(tile_w * scale, ramp, x > 0, x + tile_w < w, piece.device)
                window = (wy[:, None] * wx[None, :]).to(piece.dtype)
                rows = slice(y * scale, (y + tile_h) * scale)
                cols = slice(x * scale, (x + tile_w) * scale)
                out[..., rows, cols] += piece * window
                weight_sum[rows, cols] += window
                del piece
        return out / weight_sum
