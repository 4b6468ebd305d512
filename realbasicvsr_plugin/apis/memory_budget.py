"""A memory budget for streaming inference: how long the chunks, and whether to tile.

The budget covers the whole process: its peak resident memory on a CPU (interpreter, libraries,
model, decoder and encoder included), its peak allocated device memory on CUDA. What the process
already holds when the plan is made (:func:`in_use`) is counted, plus a reserve for the encoder;
the rest is for the network's work, estimated by :class:`MemoryModel` for a chunk of ``t``
frames of ``h x w`` pixels. The model counts bytes per LR pixel of each tensor the inference
holds (documented on each term, measured in docs/benchmarks.md, tested in
tests/test_memory_budget.py):

* per frame of the chunk, for the whole chunk: the input frames (chunk history, stacked batch,
  cleaned frames), the optical flows, the backward-propagation features; with tiles also the
  chunk's HR output, which is blended tile by tile;
* once, at the largest step: the cleaning of one piece of frames, SPyNet on one piece of frame
  pairs, one propagation step, one HR frame in tiles, and the ``overlap`` HR frames held for the
  cross-fade with the next chunk.

The planner takes the longest chunk (at most :data:`MAX_AUTO_SEQ_LEN`) that fits; only when not
even :func:`min_auto_seq_len` frames fit whole does it tile, with the largest tile that fits
that many; failing that, the longest chunk that fits at all, with the largest tile at that length.
"""
import math
import os
import re
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import torch

from .errors import InferenceError

#: Longest chunk the planner chooses (the former fixed default).
MAX_AUTO_SEQ_LEN = 32

#: Share of the available RAM (CPU) or free device memory (CUDA) the default budget takes.
DEFAULT_SHARE = 0.8

#: Tile sizes (input pixels) the planner tries, largest first.
TILE_SIZES = (1024, 768, 640, 512, 448, 384, 320, 256, 192, 160, 128, 96, 64)

#: Safety factor on the model's estimate (allocator slack, fragmentation), from measurements.
SAFETY = 1.15

#: Bytes per LR pixel of SPyNet's activations for one frame pair at inference (its top level's 7x7
#: convolutions, 8 -> 32 -> 64 -> 32 -> 16 -> 2 channels, plus the pyramid; measured here: peak RSS
#: grew by 570 bytes per pixel per pair for 2 pairs of 512x512).
SPYNET_BYTES_PER_PIXEL = 600

#: Encoder reserve per output pixel: libx264 with its defaults (crf 18, look-ahead, frame threads)
#: grew by 756 MiB writing 80 frames of 2560x1440 here, 215 bytes per pixel.
ENCODER_BYTES_PER_OUTPUT_PIXEL = 220

_UNITS = {'': 1, 'b': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}


def parse_size(value: Union[int, float, str], param: str = 'max_memory') -> int:
    """Read a memory size: bytes, or a number with a unit ``K``, ``M``, ``G``, ``T``
    (powers of 1024; ``6G``, ``512M``, ``1.5GiB``, ``4GB``).

    Args:
        value (int | float | str): The size.
        param (str): The parameter's name, for the error message.

    Returns:
        int: Bytes, > 0.
    """
    if isinstance(value, bool):
        raise InferenceError(f'{param} must be a size such as 6G or 512M, got {value!r}',
                             param=param)
    if isinstance(value, (int, float)):
        number, unit = float(value), ''
    else:
        match = re.fullmatch(r'\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*',
                             str(value).lower())
        if not match:
            raise InferenceError(f"{param} must be a size such as 6G or 512M, got '{value}'",
                                 param=param)
        number, unit = float(match.group(1)), match.group(2)
    size = number * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise InferenceError(f"{param} must be a positive size such as 6G or 512M, got "
                             f"'{value}'", param=param)
    return int(size)


def format_size(size: float) -> str:
    """``size`` bytes as a short string in the unit :func:`parse_size` reads (``'3.2G'``)."""
    for unit, factor in (('T', 1 << 40), ('G', 1 << 30), ('M', 1 << 20), ('K', 1 << 10)):
        if size >= factor:
            return f'{math.ceil(size / factor * 10) / 10:g}{unit}'
    return f'{int(size)}'


def _meminfo(field: str) -> Optional[int]:
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; the peak so far elsewhere)."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def in_use(device: torch.device) -> int:
    """Memory the process holds now on ``device``: resident (CPU) or allocated (CUDA)."""
    if device.type == 'cuda':
        return torch.cuda.memory_allocated(device)
    return resident_bytes()


def default_budget(device: torch.device) -> int:
    """The default budget: what is in use plus :data:`DEFAULT_SHARE` of what is free.

    Args:
        device (torch.device): The inference device.

    Returns:
        int: Bytes.
    """
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return int(in_use(device) + DEFAULT_SHARE * free)
    available = _meminfo('MemAvailable')
    if available is None:
        try:
            available = os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
        except (ValueError, OSError):
            available = 4 << 30
    return int(in_use(device) + DEFAULT_SHARE * available)


def encoder_reserve(width: int, height: int) -> int:
    """Bytes to keep for a video encoder writing ``width x height`` frames."""
    return ENCODER_BYTES_PER_OUTPUT_PIXEL * width * height


def min_auto_seq_len(overlap: int) -> int:
    """Shortest chunk the planner chooses: at most half of it is overlap recomputed."""
    return max(overlap + 1, 2 * overlap, 4)


@dataclass
class MemoryModel:
    """Bytes a chunk of frames needs, per LR pixel, for a RealBasicVSR-like network.

    Args:
        mid_channels (int): Feature channels of the propagation (``4 * mid_channels`` bytes per
            pixel per frame of the chunk for the backward features).
        scale (int): Upsampling factor.
        element_bytes (int): Bytes per value (4 in fp32; autocast keeps fp32 tensors around,
            so the planner keeps 4).
        piece_bytes (int): Bytes per piece of cleaning/upsampling work on the device
            (the network's cache or device piece size).
        flow_piece_pixels (int): Pixels per SPyNet call.
    """
    mid_channels: int = 64
    scale: int = 4
    element_bytes: int = 4
    piece_bytes: int = 8 << 20
    flow_piece_pixels: int = 1 << 17

    @classmethod
    def of(cls, model, device: torch.device) -> 'MemoryModel':
        """The model of ``model`` (a network with ``mid_channels``/``scale``, or any model:
        then the paper's 64 channels and x4 are assumed)."""
        from realbasicvsr_plugin.models import inference_schedule as schedule
        mid = int(getattr(model, 'mid_channels', 64) or 64)
        scale = int(getattr(model, 'scale', 4) or 4)
        cache = int(getattr(model, 'cpu_cache_bytes', schedule.DEFAULT_CPU_CACHE_BYTES))
        piece = cache if device.type == 'cpu' and cache > 0 else schedule.DEVICE_PIECE_BYTES
        return cls(mid, scale, 4, piece, schedule.FLOW_PIECE_PIXELS)

    def per_frame(self, tile_pixels: int, frame_pixels: int, tiled: bool) -> float:
        """Bytes held for the whole chunk per frame of it.

        Input frames in [0, 1], 3 values per pixel each: the chunk's history of decoded frames
        and the stacked batch (whole frames), the network's copy and cleaned frames (its input,
        a tile when tiled); flows in both directions (2 x 2 values); the backward features
        (``mid_channels`` values). With tiles, the chunk's HR output (3 values per HR pixel)
        while the tiles are blended, and one tile's HR output with its blending weights.
        """
        e = self.element_bytes
        held = 2 * 3 * e * frame_pixels + (2 * 3 + 4 + self.mid_channels) * e * tile_pixels
        if tiled:
            hr = 3 * e * self.scale**2
            held += hr * frame_pixels + 2 * hr * tile_pixels
        return held

    def transient(self, t: int, tile_pixels: int, frame_pixels: int, overlap: int) -> float:
        """Bytes of the largest step, held once (not per frame).

        The largest of: one piece of cleaning (one frame at least; input, 3 feature maps); SPyNet
        on one piece of pairs (:data:`SPYNET_BYTES_PER_PIXEL`); one propagation step (the
        concatenated input, 3 feature maps, the warped features, the fusion's 2 + 1 maps; 8
        maps); one HR frame being upsampled (its bilinear base and output, 2 x 3 values per HR
        pixel, plus 3 pieces of HR features). Plus the ``overlap`` HR frames kept for the
        cross-fade and the frame being handed on (3 values per HR pixel each, whole frames).
        """
        e, m, s2 = self.element_bytes, self.mid_channels, self.scale**2
        pairs = max(1, self.flow_piece_pixels // max(1, tile_pixels))
        cleaning = max(tile_pixels * 3 * m * e, 3 * self.piece_bytes)
        flow = min(pairs, max(1, 2 * (t - 1))) * tile_pixels * SPYNET_BYTES_PER_PIXEL
        propagation = tile_pixels * 8 * m * e
        upsampling = tile_pixels * 2 * 3 * e * s2 + 3 * min(self.piece_bytes,
                                                            tile_pixels * 64 * e * s2)
        handed_on = (overlap + 2) * 3 * e * s2 * frame_pixels
        return max(cleaning, flow, propagation, upsampling) + handed_on

    def chunk_bytes(self, t: int, h: int, w: int, tile: Optional[int], overlap: int) -> int:
        """Estimated bytes for chunks of ``t`` frames of ``h x w``, in tiles of ``tile``."""
        frame_pixels = h * w
        tiled = tile is not None and (tile < h or tile < w)
        tile_pixels = min(tile, h) * min(tile, w) if tiled else frame_pixels
        need = t * self.per_frame(tile_pixels, frame_pixels, tiled) + \
            self.transient(t, tile_pixels, frame_pixels, overlap)
        return int(SAFETY * need)


@dataclass
class Plan:
    """What the planner chose.

    Attributes:
        max_seq_len (int | None): Frames per chunk (None: the whole clip).
        tile (int | None): Tile size in input pixels (None: whole frames).
        budget (int): The budget, bytes.
        estimate (int): The estimated peak, bytes (``reserved`` included).
        reserved (int): What was in use at planning time plus reserves, bytes.
    """
    max_seq_len: Optional[int]
    tile: Optional[int]
    budget: int
    estimate: int
    reserved: int

    def describe(self) -> str:
        """One line: ``chunks of 32 frames, whole frames, estimated 3.1G of 6G``."""
        chunks = 'the whole clip' if self.max_seq_len is None else \
            f'chunks of {self.max_seq_len} frames'
        tiles = 'whole frames' if self.tile is None else f'tiles of {self.tile}'
        return (f'{chunks}, {tiles}, estimated {format_size(self.estimate)} of '
                f'{format_size(self.budget)}')


def plan_chunks(size: Tuple[int, int], budget: int, reserved: int, model: MemoryModel,
                overlap: int, max_seq_len: Union[int, str, None] = 'auto',
                tile: Union[int, str, None] = 'auto', tile_overlap: int = 16,
                min_tile: int = 64, num_frames: Optional[int] = None) -> Plan:
    """Choose the chunk length and the tiles for ``size`` frames within ``budget``.

    Args:
        size (tuple[int, int]): ``(height, width)`` of the input frames.
        budget (int): Bytes for the whole process.
        reserved (int): Bytes already in use or reserved (libraries, model, encoder).
        model (MemoryModel): The network's memory model.
        overlap (int): Frames shared by consecutive chunks.
        max_seq_len (int | str | None): ``'auto'`` to choose; a number wins (0/None: the whole
            clip, ``num_frames`` long when known).
        tile (int | str | None): ``'auto'`` to choose; a number wins (0/None: no tiles).
        tile_overlap (int): Overlap of tiles (a tile is at least twice that).
        min_tile (int): Smallest tile worth running (the network's minimum input size).
        num_frames (int, optional): Length of the clip, if known.

    Returns:
        Plan: The choice.

    Raises:
        InferenceError: Nothing fits; the message gives the smallest budget that would.
    """
    h, w = size
    auto_len, auto_tile = max_seq_len == 'auto', tile == 'auto'
    if auto_len:
        lengths = list(range(MAX_AUTO_SEQ_LEN, overlap, -1))
        preferred = min_auto_seq_len(overlap)
    else:
        whole_clip = not max_seq_len
        t = (num_frames or MAX_AUTO_SEQ_LEN) if whole_clip else int(max_seq_len)
        lengths, preferred = [t], t
    if num_frames and auto_len:  # no longer than the clip
        lengths = [t for t in lengths if t <= max(num_frames, overlap + 1)] or lengths[-1:]
        preferred = min(preferred, lengths[0])
    if auto_tile:
        smallest = max(min_tile, 2 * tile_overlap + 1)
        tiles = [None] + [s for s in TILE_SIZES if s < max(h, w) and s >= smallest]
    else:
        tiles = [tile or None]

    def fits(t, s):
        return reserved + model.chunk_bytes(t, h, w, s, overlap) <= budget

    def plan(t, s):
        chosen_len = t if auto_len or max_seq_len else None
        return Plan(chosen_len, s, budget, reserved + model.chunk_bytes(t, h, w, s, overlap),
                    reserved)

    # longest chunk of whole frames; tiles only when not even the preferred length fits
    for s in tiles:
        good = [t for t in lengths if t >= preferred and fits(t, s)]
        if good:
            return plan(good[0], s)
    # else the longest chunk that fits at all (overlap recomputation costs most), whole frames
    # or the largest tile at that length
    for t in lengths:
        for s in tiles:
            if fits(t, s):
                return plan(t, s)
    t_min, s_min = lengths[-1], tiles[-1]
    need = reserved + model.chunk_bytes(t_min, h, w, s_min, overlap)
    unit = f'{t_min} frame{"s" * (t_min != 1)} of {w}x{h}' + \
        (f' in tiles of {s_min}' if s_min is not None else '')
    raise InferenceError(f'max_memory {format_size(budget)} is too small: the smallest work '
                         f'unit ({unit}) needs about {format_size(need)} ({format_size(reserved)} '
                         f'of it already in use or kept for the encoder); give at least '
                         f'{format_size(need)}', param='max_memory')
