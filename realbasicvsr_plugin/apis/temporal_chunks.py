"""Run a recurrent video model over an unbounded frame stream in overlapping temporal chunks.

A bidirectional recurrent network such as RealBasicVSR needs a whole sequence before it can
emit its first frame. To bound memory, the stream is cut into chunks of at most ``max_seq_len``
frames; consecutive chunks share ``overlap`` frames, and in the shared frames the two results are
cross-faded with linear weights, so no chunk boundary shows as a jump. The last chunk is extended
backwards to a full ``max_seq_len`` frames (instead of being a short tail), so the end of a video
gets as much temporal context as the rest.

Only ``max_seq_len`` input frames and ``overlap`` output frames are held at any time.
"""
from collections import deque
from typing import Callable, Deque, Iterable, Iterator, List, Optional

import torch

#: ``(1, t, C, h, w) -> (1, t, C, H, W)``: the model (possibly tiled) applied to one chunk.
ChunkFn = Callable[[torch.Tensor], torch.Tensor]


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

    def __call__(self, frames: Iterable[torch.Tensor], fn: ChunkFn) -> Iterator[torch.Tensor]:
        """Stream the model's output frames.

        Args:
            frames (Iterable[torch.Tensor]): Input frames, each ``(C, h, w)``.
            fn (ChunkFn): The model applied to a ``(1, t, C, h, w)`` chunk.

        Yields:
            torch.Tensor: Output frames ``(C, H, W)`` in order, one per input frame.
        """
        if self.max_seq_len is None:
            window = list(frames)
            if window:
                yield from self._emit_window(window, 0, fn, [], 0, final=True)[1]
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
                pending, emitted = self._emit_window(
                    list(history), total - len(history), fn, pending, next_out, final=False)
                next_out += len(emitted)
                yield from emitted
                unprocessed, ran = 0, True
        if unprocessed or not ran:
            if total:
                _, emitted = self._emit_window(
                    list(history), total - len(history), fn, pending, next_out, final=True)
                yield from emitted
        else:
            yield from pending

    def _emit_window(self, window: List[torch.Tensor], start: int, fn: ChunkFn,
                     pending: List[torch.Tensor], next_out: int, final: bool):
        """Run ``fn`` on one window and work out which frames are finished.

        Args:
            window (list[torch.Tensor]): The chunk's input frames.
            start (int): Stream index of the window's first frame.
            fn (ChunkFn): The model.
            pending (list[torch.Tensor]): Outputs of frames ``next_out ..`` from the previous
                chunk, to be blended with this chunk's outputs of the same frames.
            next_out (int): Stream index of the first frame not yet emitted.
            final (bool): Whether no chunk follows (emit everything).

        Returns:
            tuple[list, list]: The new pending outputs and the finished output frames.
        """
        out = fn(torch.stack(window, dim=0).unsqueeze(0))[0]  # (t, C, H, W)
        first = next_out - start  # position in the window of the first frame to emit
        finished = []
        if pending:
            weights = crossfade_weights(len(pending), device=out.device)
            for j, old in enumerate(pending):
                w = weights[j]
                finished.append(old * (1 - w) + out[first + j] * w)
        finished.extend(out[first + len(pending):].unbind(0))
        if final:
            return [], finished
        keep = self.overlap
        if keep == 0:
            return [], finished
        # Copy the held frames so that the chunk's whole output can be freed before the next
        # chunk runs (views would keep all of it alive).
        return [f.clone() for f in finished[-keep:]], finished[:-keep]
