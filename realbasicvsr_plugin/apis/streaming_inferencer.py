"""Streaming video super-resolution: frames in, restored frames out, memory bounded.

:class:`StreamingInferencer` puts the pieces in the order of the data flow: decoded frames ->
overlapping temporal chunks (:class:`~.temporal_chunks.TemporalChunker`) -> overlapping spatial
tiles when frames are large (:class:`~.spatial_tiles.SpatialTiler`) -> the network -> blended,
stitched frames. It holds at most one chunk of input frames and one chunk of output frames, so
memory does not grow with the length of the video.
"""
import contextlib
from collections import deque
from typing import Deque, Iterable, Iterator, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from .cancellation import interruptible
from .errors import InferenceError
from .spatial_tiles import SpatialTiler
from .temporal_chunks import TemporalChunker

#: Names of the supported numeric precisions and their dtypes.
PRECISIONS = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def resolve_device(device: Union[str, torch.device, None] = 'auto') -> torch.device:
    """Turn ``'auto'`` (CUDA when available, else CPU) or a device name into a device.

    Args:
        device (str | torch.device | None): ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...

    Returns:
        torch.device: The device.
    """
    if device is None or str(device) == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as err:
        raise InferenceError(f"--device: unknown device '{device}'") from err
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise InferenceError(f"--device {device}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InferenceError(f'--device {device}: only {torch.cuda.device_count()} CUDA '
                                 'device(s) present')
    return dev


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), as oneDNN reports it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a PyTorch built without oneDNN
        return False


def check_precision(precision: str, device: torch.device) -> torch.dtype:
    """Check that ``precision`` can run on ``device``.

    ``fp16`` is for CUDA GPUs only. ``bf16`` runs on CUDA GPUs that support it and on CPUs with
    native bfloat16 instructions (AVX512-BF16 or AMX), where oneDNN's convolutions run about twice
    as fast as in fp32; CPUs without them would emulate it slower than fp32, so it is refused there.

    Args:
        precision (str): ``'fp32'``, ``'fp16'`` or ``'bf16'``.
        device (torch.device): The device the model runs on.

    Returns:
        torch.dtype: The dtype used for autocast.
    """
    if precision not in PRECISIONS:
        raise InferenceError(f"unknown precision '{precision}' (choose from "
                             f"{', '.join(PRECISIONS)})")
    if precision == 'fp16' and device.type != 'cuda':
        raise InferenceError(f'--fp16 needs a CUDA GPU, but the device is {device}; drop the '
                             'option to run in fp32 (or try --bf16 on a CPU with native bfloat16)')
    if precision == 'bf16':
        if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
            raise InferenceError(f'--bf16: the GPU {torch.cuda.get_device_name(device)} does '
                                 'not support bfloat16; use --fp16')
        if device.type == 'cpu' and not cpu_has_native_bf16():
            raise InferenceError('--bf16 on a CPU needs native bfloat16 instructions '
                                 '(AVX512-BF16 or AMX), which this CPU lacks; drop the option '
                                 'to run in fp32')
        if device.type not in ('cpu', 'cuda'):
            raise InferenceError(f'--bf16 needs a CUDA GPU or a CPU, but the device is {device}')
    return PRECISIONS[precision]


def refinement_threshold(model: nn.Module) -> Optional[float]:
    """The network's current dynamic-refinement threshold on the 0-255 scale (None: one pass).

    Args:
        model (nn.Module): A network with dynamic refinement.

    Returns:
        float | None: The threshold.
    """
    value = getattr(model, 'dynamic_refine_thres', None)
    return None if value is None else float(value)


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """Quantise a restored ``(3, H, W)`` float frame in [0, 1] to ``(H, W, 3)`` uint8 RGB.

    Args:
        frame (torch.Tensor): The frame (values outside [0, 1] are clipped).

    Returns:
        np.ndarray: The pixels.
    """
    pixels = (frame.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8)
    return pixels.permute(1, 2, 0).cpu().numpy()


class StreamingInferencer:
    """Restore a stream of frames with a video super-resolution network.

    Args:
        model (nn.Module): Network mapping ``(n, t, 3, h, w)`` RGB in [0, 1] to
            ``(n, t, 3, s*h, s*w)``.
        device (str | torch.device): Device to run on (``'auto'`` picks CUDA when present).
        precision (str): ``'fp32'``, ``'fp16'`` autocast on a CUDA GPU, or ``'bf16'`` autocast on
            a CUDA GPU or a CPU with native bfloat16 (see :func:`check_precision`).
            Defaults to ``'fp32'``.
        max_seq_len (int, optional): Frames per temporal chunk; 0 or ``None`` processes the
            whole clip at once. Defaults to 32.
        overlap (int): Frames shared by consecutive chunks. Defaults to 4.
        tile (int, optional): Tile size in input pixels; 0 or ``None`` disables tiling.
        tile_overlap (int): Overlap of neighbouring tiles in input pixels. Defaults to 16.
        refine_threshold (float | str, optional): Dynamic-refinement threshold on the 0-255
            scale (``'off'`` for a single cleaning pass); ``None`` keeps the network's setting.
        max_passes (int, optional): Maximum cleaning passes; ``None`` keeps the network's.
        channels_last (bool): Put the network's weights in ``channels_last`` memory format
            (in place), which makes convolutions about 1.5x faster on CPUs and tensor-core GPUs;
            results equal the default layout's to float rounding. Defaults to True.
    """

    def __init__(self, model: nn.Module, device: Union[str, torch.device] = 'auto',
                 precision: str = 'fp32', max_seq_len: Optional[int] = 32, overlap: int = 4,
                 tile: Optional[int] = None, tile_overlap: int = 16,
                 refine_threshold: Union[float, str, None] = None,
                 max_passes: Optional[int] = None, channels_last: bool = True) -> None:
        self.device = resolve_device(device)
        self.dtype = check_precision(precision, self.device)
        self.precision = precision
        try:
            self.chunker = TemporalChunker(max_seq_len, overlap)
        except ValueError as err:
            raise InferenceError(f'--max-seq-len/--overlap: {err}') from err
        try:
            self.tiler = SpatialTiler(tile, tile_overlap)
        except ValueError as err:
            raise InferenceError(f'--tile/--tile-overlap: {err}') from err
        self.model = model.to(self.device).eval()
        if channels_last:
            from realbasicvsr_plugin.models.inference import prepare_for_inference
            prepare_for_inference(self.model)
        self._configure_refinement(refine_threshold, max_passes)
        self._passes_sum = 0  # cleaning passes summed over the frames processed so far
        self._passes_count = 0

    @property
    def scale(self) -> int:
        """Upscaling factor of the network (its ``scale`` attribute; 4 if it has none)."""
        return int(getattr(self.model, 'scale', 4))

    def _configure_refinement(self, threshold, max_passes) -> None:
        """Apply ``--refine-threshold``/``--max-passes`` with the network's ``set_refinement``."""
        if threshold is None and max_passes is None:
            return
        if not hasattr(self.model, 'set_refinement'):
            raise InferenceError('--refine-threshold/--max-passes: the network '
                                 f'{type(self.model).__name__} has no dynamic refinement')
        single_pass = False
        if isinstance(threshold, str):
            if threshold.strip().lower() in ('off', 'none'):
                single_pass = True
            else:
                try:
                    threshold = float(threshold)
                except ValueError:
                    raise InferenceError(f"--refine-threshold: expected a number or 'off', got "
                                         f"'{threshold}'") from None
        if threshold is None:
            threshold = refinement_threshold(self.model)
        elif not single_pass and not threshold >= 0:
            raise InferenceError(f'--refine-threshold must be >= 0, got {threshold}')
        if max_passes is None:
            max_passes = int(getattr(self.model, 'max_passes', 3))
        if max_passes < 1:
            raise InferenceError(f'--max-passes must be >= 1, got {max_passes}')
        self.model.set_refinement(None if single_pass else threshold, max_passes)

    def model_fn(self, lqs: torch.Tensor) -> torch.Tensor:
        """Run the network on one ``(n, t, 3, h, w)`` batch on the inference device.

        Args:
            lqs (torch.Tensor): Input frames in [0, 1].

        Returns:
            torch.Tensor: Float32 output frames on the inference device (not clamped).
        """
        lqs = lqs.to(self.device, non_blocking=True)
        autocast = torch.autocast(self.device.type, dtype=self.dtype) \
            if self.dtype != torch.float32 else contextlib.nullcontext()
        with interruptible(), torch.inference_mode(), autocast:  # a stop signal acts at once
            out = self.model(lqs)
        passes = getattr(self.model, 'last_passes', None)
        if isinstance(passes, torch.Tensor):
            self._passes_sum += int(passes.sum())
            self._passes_count += passes.numel()
        return out.float()

    def _chunk_fn(self, chunk: torch.Tensor) -> torch.Tensor:
        return self.tiler(chunk, self.model_fn)

    def restore(self, images: Iterable[np.ndarray]) -> Iterator[torch.Tensor]:
        """Restore a stream of frames.

        Args:
            images (Iterable[np.ndarray]): ``(h, w, 3)`` uint8 RGB frames, all of one size.

        Yields:
            torch.Tensor: Restored ``(3, s*h, s*w)`` float32 frames on the CPU, in [0, 1] up to
            the network's overshoot (not clamped, not quantised), one per input frame.
        """
        def tensors() -> Iterator[torch.Tensor]:
            for image in images:
                frame = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
                yield frame.to(self.device).float().div_(255.0)

        for out in self.chunker(tensors(), self._chunk_fn):
            yield out.cpu()

    def restore_named(self, frames: Iterable[Tuple[str, np.ndarray]]
                      ) -> Iterator[Tuple[str, torch.Tensor]]:
        """Like :meth:`restore`, keeping each frame's name with its result.

        Args:
            frames (Iterable[tuple[str, np.ndarray]]): ``(name, image)`` pairs.

        Yields:
            tuple[str, torch.Tensor]: ``(name, restored frame)``.
        """
        names: Deque[str] = deque()

        def images() -> Iterator[np.ndarray]:
            for name, image in frames:
                names.append(name)
                yield image

        for out in self.restore(images()):
            yield names.popleft(), out

    def mean_passes(self) -> Optional[float]:
        """Average number of cleaning passes per frame so far (None if not reported)."""
        if not self._passes_count:
            return None
        return self._passes_sum / self._passes_count
