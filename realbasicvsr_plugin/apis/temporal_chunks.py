"""Run a recurrent video model over an unbounded frame stream in overlapping temporal chunks.

A bidirectional recurrent network such as RealBasicVSR needs a whole sequence before it can
emit its first frame. To bound memory, the stream is cut into chunks of at most ``max_seq_len``
frames; consecutive chunks share ``overlap`` frames, and in the shared frames the two results are
cross-faded with linear weights, so no chunk boundary shows as a jump. The last chunk is extended
backwards to a full ``max_seq_len`` frames (instead of being a short tail), so the end of a video
gets as much temporal context as the rest.

A :data:`CUT` in the stream (a scene cut, :mod:`.scene_cuts`) ends the shot before it: the
frames after it are processed as a stream of their own, never in a chunk with frames before the
cut and never cross-faded with them.

Only ``max_seq_len`` input frames and ``overlap`` output frames are held at any time; the model's
output frames are handed on one by one as the model produces them.
"""
from collections import deque
from typing import Callable, Deque, Iterable, Iterator, List, Optional, Union

import torch

#: The model (possibly tiled) applied to one ``(1, t, C, h, w)`` chunk: either the
#: ``(1, t, C, H, W)`` output, or an iterable of its ``t`` frames ``(C, H, W)`` in order.
ChunkFn = Callable[[torch.Tensor], Union[torch.Tensor, Iterable[torch.Tensor]]]


class _Cut:
    """Marker type of :data:`CUT`."""

    def __repr__(self) -> str:
        return 'CUT'


#: Put in a frame stream between two frames of different shots.
CUT = _Cut()


def crossfade_weights(length: int, device=None) -> torch.Tensor:
    """Weights of the *newer* chunk over an overlap of ``length`` frames.

    The newer chunk's weight rises linearly, ``(j + 1) / (length + 1)`` for ``j = 0 .. length-1``;
    the older chunk gets one minus that. Each chunk is therefore trusted most far from its own
    ends, where a recurrent model has seen the most context in both directions.

    Args:
        length (int): Number of overlapping frames.
        device (torch.device, optional): Device of the result.

    Returns:
        torch.Tensor: ``(length,)`` weights in (0, 1).
    """
    return torch.arange(1, length + 1, device=device, dtype=torch.float32) / (length + 1)


class _Shot:
    """The frames of ``source`` up to the next :data:`CUT` (or its end)."""

    def __init__(self, source: Iterator) -> None:
        self.source = source
        self.exhausted = False

    def __iter__(self) -> Iterator[torch.Tensor]:
        for item in self.source:
            if item is CUT:
                return
            yield item
        self.exhausted = True


class TemporalChunker:
    """Apply a sequence model to a frame stream chunk by chunk, blending the overlaps.

    Args:
        max_seq_len (int, optional): Frames per chunk. ``None`` or 0 processes the whole stream
            as one chunk (memory grows with its length).
        overlap (int): Frames shared by consecutive chunks; must be smaller than
            ``max_seq_len``. Defaults to 0.
    """

    def __init__(self, max_seq_len: Optional[int] = None, overlap: int = 0) -> None:
        if max_seq_len is not None and max_seq_len < 0:
            raise ValueError(f'max_seq_len must be >= 0 (0 = off), got {max_seq_len}')
        self.max_seq_len = max_seq_len or None
        if overlap < 0:
            raise ValueError(f'overlap must be >= 0, got {overlap}')
        if self.max_seq_len is not None and overlap >= self.max_seq_len:
            raise ValueError(f'overlap ({overlap}) must be smaller than max_seq_len '
                             f'({self.max_seq_len})')
        self.overlap = overlap if self.max_seq_len is not None else 0

    def __call__(self, frames: Iterable[Union[torch.Tensor, _Cut]],
                 fn: ChunkFn) -> Iterator[torch.Tensor]:
        """Stream the model's output frames.

        Args:
            frames (Iterable[torch.Tensor]): Input frames, each ``(C, h, w)``, with :data:`CUT`
                between shots.
            fn (ChunkFn): The model applied to a ``(1, t, C, h, w)`` chunk.

        Yields:
            torch.Tensor: Output frames ``(C, H, W)`` in order, one per input frame.
        """
        source = iter(frames)
        while True:
            shot = _Shot(source)
            yield from self._shot(shot, fn)
            if shot.exhausted:
                return

    def _shot(self, frames: Iterable[torch.Tensor], fn: ChunkFn) -> Iterator[torch.Tensor]:
        """The output frames of one shot."""
        if self.max_seq_len is None:
            window = list(frames)
            if window:
                yield from self._run(window, 0, fn, [], 0, final=True)
            return

        length, overlap = self.max_seq_len, self.overlap
        history: Deque[torch.Tensor] = deque(maxlen=length)
        pending: List[torch.Tensor] = []  # outputs of frames next_out.., awaiting the blend
        next_out = 0  # index of the next frame to emit
        total = 0  # frames read
        unprocessed = 0  # frames read since the last chunk ran
        ran = False
        for frame in frames:
            history.append(frame)
            total += 1
            unprocessed += 1
            if unprocessed == (length - overlap if ran else length):
                held: List[torch.Tensor] = []
                for out in self._run(list(history), total - len(history), fn, pending,
                                     next_out, final=False, held=held):
                    next_out += 1
                    yield out
                pending = held
                unprocessed, ran = 0, True
        if unprocessed or not ran:
            if total:
                yield from self._run(list(history), total - len(history), fn, pending,
                                     next_out, final=True)
        else:
            yield from pending

    def _run(self, window: List[torch.Tensor], start: int, fn: ChunkFn,
             pending: List[torch.Tensor], next_out: int, final: bool,
             held: Optional[List[torch.Tensor]] = None) -> Iterator[torch.Tensor]:
        """Run ``fn`` on one window and yield its finished frames as they come.

        Args:
            window (list[torch.Tensor]): The chunk's input frames.
            start (int): Stream index of the window's first frame.
            fn (ChunkFn): The model.
            pending (list[torch.Tensor]): Outputs of frames ``next_out ..`` from the previous
                chunk, to be blended with this chunk's outputs of the same frames.
            next_out (int): Stream index of the first frame not yet emitted.
            final (bool): Whether no chunk of this shot follows (emit everything).
            held (list, optional): Receives the last ``overlap`` outputs, which are not yielded
                but kept for the blend with the next chunk (when not ``final``).

        Yields:
            torch.Tensor: The finished output frames, in order.
        """
        out = fn(torch.stack(window, dim=0).unsqueeze(0))
        outputs = out[0].unbind(0) if isinstance(out, torch.Tensor) else out
        first = next_out - start  # position in the window of the first frame to emit
        keep_from = len(window) if final or not self.overlap else len(window) - self.overlap
        weights = crossfade_weights(len(pending)) if pending else None
        for j, frame in enumerate(outputs):
            if j < first:  # emitted already (the extended last chunk)
                continue
            k = j - first
            if k < len(pending):
                w = float(weights[k])
                frame = pending[k] * (1 - w) + frame * w
            if j >= keep_from:
                # a copy, so that a whole-chunk output tensor is not kept alive by a view
                held.append(frame.clone() if frame._base is not None else frame)
            else:
                yield frame
