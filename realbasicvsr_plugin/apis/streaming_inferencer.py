"""Streaming video super-resolution: frames in, restored frames out, memory bounded.

:class:`StreamingInferencer` puts the pieces in the order of the data flow: decoded frames ->
scene-cut detection (:mod:`.scene_cuts`) -> overlapping temporal chunks, ended at cuts
(:class:`~.temporal_chunks.TemporalChunker`) -> overlapping spatial tiles when frames are large
(:class:`~.spatial_tiles.SpatialTiler`) -> the network -> blended, stitched frames, handed on one
by one. The chunk length and the tiles come from a memory budget (:mod:`.memory_budget`) unless
given. It holds at most one chunk of input frames and, with tiles, one chunk of output frames,
so memory does not grow with the length of the video.
"""
import contextlib
import copy
from collections import deque
from typing import Deque, Iterable, Iterator, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from . import memory_budget
from .cancellation import interruptible
from .errors import InferenceError
from .scene_cuts import SceneCutDetector, parse_threshold
from .spatial_tiles import SpatialTiler
from .temporal_chunks import CUT, TemporalChunker

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
        raise InferenceError(f"device: unknown device '{device}'", param='device') from err
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise InferenceError(f"device '{device}': CUDA is not available on this machine",
                                 param='device')
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InferenceError(f"device '{device}': only {torch.cuda.device_count()} CUDA "
                                 'device(s) present', param='device')
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
                             f"{', '.join(PRECISIONS)})", param='precision')
    if precision == 'fp16' and device.type != 'cuda':
        raise InferenceError(f"precision 'fp16' needs a CUDA GPU, but the device is {device}; "
                             "use precision 'fp32' (or precision 'bf16' on a CPU with native "
                             'bfloat16)', param='precision')
    if precision == 'bf16':
        if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
            raise InferenceError(f"precision 'bf16': the GPU {torch.cuda.get_device_name(device)} "
                                 "does not support bfloat16; use precision 'fp16'",
                                 param='precision')
        if device.type == 'cpu' and not cpu_has_native_bf16():
            raise InferenceError("precision 'bf16' on a CPU needs native bfloat16 instructions "
                                 "(AVX512-BF16 or AMX), which this CPU lacks; use precision "
                                 "'fp32'", param='precision')
        if device.type not in ('cpu', 'cuda'):
            raise InferenceError(f"precision 'bf16' needs a CUDA GPU or a CPU, but the device "
                                 f'is {device}', param='precision')
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


#: Largest value of each supported input dtype (frames are divided by it).
INPUT_RANGES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _is_channels_last(model: nn.Module) -> bool:
    """Whether every 4-D weight of ``model`` is in ``channels_last`` memory format."""
    weights = [p for p in model.parameters() if p.dim() == 4]
    return all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)


class StreamingInferencer:
    """Restore a stream of frames with a video super-resolution network.

    The caller's model is never changed: when the inference needs it on another device, in eval
    mode, in ``channels_last`` format or with other refinement settings than it has, the
    inferencer works on its own copy (``self.model``; the weights are copied once, 25 MB for the
    paper's network) and leaves the caller's as it was. A model already as needed (as
    :func:`~.model_loading.load_model` returns it) is used directly.

    Args:
        model (nn.Module): Network mapping ``(n, t, 3, h, w)`` RGB in [0, 1] to
            ``(n, t, 3, s*h, s*w)``. One with a ``stream`` method (RealBasicVSRNet) hands its
            HR frames on one by one; any other is called whole.
        device (str | torch.device): Device to run on (``'auto'`` picks CUDA when present).
        precision (str): ``'fp32'``, ``'fp16'`` autocast on a CUDA GPU, or ``'bf16'`` autocast on
            a CUDA GPU or a CPU with native bfloat16 (see :func:`check_precision`).
            Defaults to ``'fp32'``.
        max_seq_len (int | str, optional): Frames per temporal chunk; ``'auto'`` (default)
            chooses from the memory budget; 0 or ``None`` processes the whole clip at once.
        overlap (int): Frames shared by consecutive chunks. Defaults to 4.
        tile (int | str, optional): Tile size in input pixels; ``'auto'`` (default) tiles only
            when the budget needs it; 0 or ``None`` disables tiling.
        tile_overlap (int): Overlap of neighbouring tiles in input pixels. Defaults to 16.
        dynamic_refine_thres (float | str, optional): Dynamic-refinement threshold on the 0-255
            scale (``'off'`` for a single cleaning pass); ``None`` keeps the network's setting.
        max_passes (int, optional): Maximum cleaning passes; ``None`` keeps the network's.
        channels_last (bool): Run a network whose weights are not ``channels_last`` (e.g.
            MMagic's) on a ``channels_last`` copy, about 1.5x faster on CPUs and tensor-core
            GPUs; results equal the default layout's to float rounding. Defaults to True.
        max_memory (int | str, optional): Memory budget of the whole process (``'6G'``,
            bytes); ``None`` takes :func:`~.memory_budget.default_budget`.
        scene_cuts (float | str, optional): Histogram-distance threshold (0-1) of the scene-cut
            detection, ``'off'`` to disable; ``None`` for the default
            (:data:`~.scene_cuts.DEFAULT_THRESHOLD`).
    """

    def __init__(self, model: nn.Module, device: Union[str, torch.device] = 'auto',
                 precision: str = 'fp32', max_seq_len: Union[int, str, None] = 'auto',
                 overlap: int = 4, tile: Union[int, str, None] = 'auto', tile_overlap: int = 16,
                 dynamic_refine_thres: Union[float, str, None] = None,
                 max_passes: Optional[int] = None, channels_last: bool = True,
                 max_memory: Union[int, str, None] = None,
                 scene_cuts: Union[float, str, None] = None) -> None:
        self.device = resolve_device(device)
        self.dtype = check_precision(precision, self.device)
        self.precision = precision
        self._max_seq_len = self._setting(max_seq_len, 'max_seq_len')
        self._tile = self._setting(tile, 'tile')
        self._overlap, self._tile_overlap = overlap, tile_overlap
        # validate the settings now (a plan replaces them when a frame size is known)
        self._configure(32 if self._max_seq_len == 'auto' else self._max_seq_len,
                        None if self._tile == 'auto' else self._tile)
        self.max_memory = None if max_memory in (None, 'auto') else \
            memory_budget.parse_size(max_memory)
        self.scene_cut_threshold = parse_threshold(scene_cuts)
        self.plan: Optional[memory_budget.Plan] = None
        self._plan_size: Optional[Tuple[int, int]] = None
        self.model = self._own_view(model, dynamic_refine_thres, max_passes, channels_last)
        self._passes_sum = 0  # cleaning passes summed over the frames processed so far
        self._passes_count = 0
        #: scene cuts found in the frames restored so far
        self.scene_cuts = 0

    @staticmethod
    def _setting(value, param: str):
        if isinstance(value, str) and value.strip().lower() == 'auto':
            return 'auto'
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InferenceError(f"{param} must be a whole number or 'auto', got {value!r}",
                                 param=param)
        return value

    def _configure(self, max_seq_len: Optional[int], tile: Optional[int]) -> None:
        try:
            self.chunker = TemporalChunker(max_seq_len, self._overlap)
        except ValueError as err:
            raise InferenceError(str(err), param='max_seq_len') from err
        try:
            self.tiler = SpatialTiler(tile, self._tile_overlap)
        except ValueError as err:
            raise InferenceError(str(err), param='tile_overlap' if 'tile_overlap' in str(err)
                                 else 'tile') from err

    # ------------------------------------------------------------------ the model
    def _own_view(self, model, threshold, max_passes, channels_last: bool):
        """``model`` if it is as the inference needs it, else a copy made so."""
        settings = self._refinement(model, threshold, max_passes)
        if not isinstance(model, nn.Module):  # another backend (e.g. ONNX Runtime): as it is
            if settings is not None:
                model = copy.deepcopy(model)
                model.set_refinement(*settings)
            return model
        tensors = list(model.parameters()) + list(model.buffers())
        on_device = all(t.device == self.device or (self.device.type == 'cuda' and
                                                    t.device.type == 'cuda' and
                                                    self.device.index is None)
                        for t in tensors)
        current = (refinement_threshold(model), getattr(model, 'max_passes', None))
        needs = (not on_device or model.training or
                 (channels_last and not _is_channels_last(model)) or
                 (settings is not None and settings != current))
        if not needs:
            return model
        view = copy.deepcopy(model).to(self.device).eval()
        if channels_last:
            view.to(memory_format=torch.channels_last)
        if settings is not None:
            view.set_refinement(*settings)
        return view

    @staticmethod
    def _refinement(model, threshold, max_passes) -> Optional[Tuple[Optional[float], int]]:
        """``dynamic_refine_thres``/``max_passes`` as ``set_refinement`` arguments (None: keep)."""
        if threshold is None and max_passes is None:
            return None
        if not hasattr(model, 'set_refinement'):
            raise InferenceError('dynamic_refine_thres/max_passes: the network '
                                 f'{type(model).__name__} has no dynamic refinement',
                                 param='dynamic_refine_thres')
        from realbasicvsr_plugin.models.realbasicvsr_net import check_refinement

        from .option_checks import parse_dynamic_refine_thres

        threshold = parse_dynamic_refine_thres(threshold)
        single_pass = threshold == 'off'
        if threshold is None:
            threshold = refinement_threshold(model)
        if max_passes is None:
            max_passes = int(getattr(model, 'max_passes', 3))
        try:  # the network's own rule
            check_refinement(None, max_passes)
        except ValueError as err:
            raise InferenceError(str(err), param='max_passes') from None
        return (None if single_pass else threshold), max_passes

    @property
    def scale(self) -> int:
        """Upscaling factor of the network (its ``scale`` attribute; 4 if it has none)."""
        return int(getattr(self.model, 'scale', 4))

    def _context(self):
        autocast = torch.autocast(self.device.type, dtype=self.dtype) \
            if self.dtype != torch.float32 else contextlib.nullcontext()
        stack = contextlib.ExitStack()
        stack.enter_context(interruptible())  # a stop signal acts at once inside the network
        stack.enter_context(torch.inference_mode())
        stack.enter_context(autocast)
        return stack

    def _count_passes(self) -> None:
        passes = getattr(self.model, 'last_passes', None)
        if isinstance(passes, torch.Tensor):
            self._passes_sum += int(passes.sum())
            self._passes_count += passes.numel()

    def model_fn(self, lqs: torch.Tensor) -> torch.Tensor:
        """Run the network on one ``(n, t, 3, h, w)`` batch on the inference device.

        Args:
            lqs (torch.Tensor): Input frames in [0, 1].

        Returns:
            torch.Tensor: Float32 output frames on the inference device (not clamped).
        """
        return torch.stack(list(self.model_frames(lqs)), dim=1)

    def model_frames(self, lqs: torch.Tensor) -> Iterator[torch.Tensor]:
        """Run the network on one ``(n, t, 3, h, w)`` batch, yielding its HR frames in turn.

        Every call into the model goes through here, in inference mode (and autocast), which
        is left between frames; a model without ``stream`` is called once on the whole batch.

        Args:
            lqs (torch.Tensor): Input frames in [0, 1].

        Yields:
            torch.Tensor: ``(n, 3, s*h, s*w)`` float32 frames on the inference device.
        """
        lqs = lqs.to(self.device, non_blocking=True)
        stream = getattr(self.model, 'stream', None)
        with self._context():
            frames = iter(stream(lqs)) if callable(stream) else iter(self.model(lqs).unbind(1))
        while True:
            with self._context():
                frame = next(frames, None)
            if frame is None:
                break
            yield frame.float()
        self._count_passes()

    def _chunk_fn(self, chunk: torch.Tensor):
        if self.tiler.tile is None:
            return (frame[0] for frame in self.model_frames(chunk))
        return self.tiler(chunk, self.model_fn)

    # ------------------------------------------------------------------ the memory budget
    def plan_for(self, size: Tuple[int, int], num_frames: Optional[int] = None,
                 reserve: int = 0) -> memory_budget.Plan:
        """Choose the chunk length and tiles for ``size`` frames within the memory budget.

        Called by :meth:`restore` on the first frame unless called before (as
        :func:`~.inference.super_resolve` does, before decoding). An explicit ``max_seq_len``
        or ``tile`` is kept; a combination that cannot fit is refused.

        Args:
            size (tuple[int, int]): ``(height, width)`` of the input frames.
            num_frames (int, optional): Length of the clip, if known.
            reserve (int): Bytes to keep for others (e.g. the encoder).

        Returns:
            memory_budget.Plan: The plan, also in ``self.plan``.
        """
        budget = self.max_memory or memory_budget.default_budget(self.device)
        reserved = memory_budget.in_use(self.device) + \
            (reserve if self.device.type == 'cpu' else 0)
        model = memory_budget.MemoryModel.of(self.model, self.device)
        self.plan = memory_budget.plan_chunks(
            size, budget, reserved, model, self._overlap, self._max_seq_len, self._tile,
            self._tile_overlap, min_tile=int(getattr(self.model, 'min_size', 64)),
            num_frames=num_frames)
        self._plan_size = tuple(size)
        self._configure(self.plan.max_seq_len, self.plan.tile)
        return self.plan

    # ------------------------------------------------------------------ frames
    def _tensors(self, images: Iterable[np.ndarray]) -> Iterator[torch.Tensor]:
        """Decoded frames as float tensors on the device, with :data:`CUT` before new shots."""
        detector = SceneCutDetector(self.scene_cut_threshold) \
            if self.scene_cut_threshold is not None else None
        for image in images:
            image = np.ascontiguousarray(image)
            top = INPUT_RANGES.get(image.dtype)
            if top is None or image.ndim != 3 or image.shape[2] != 3:
                raise InferenceError(f'frames must be (h, w, 3) uint8 or uint16 RGB arrays, got '
                                     f'{image.dtype} of shape {image.shape}', param='images')
            if self.plan is None or self._plan_size != image.shape[:2]:
                self.plan_for(image.shape[:2])
            if detector is not None and detector.is_cut(image):
                self.scene_cuts += 1
                yield CUT
            if image.dtype == np.uint16:  # (few torch ops take uint16)
                image = image.astype(np.float32)
            frame = torch.from_numpy(image).permute(2, 0, 1)
            yield frame.to(self.device).float().div_(top)

    def restore(self, images: Iterable[np.ndarray]) -> Iterator[torch.Tensor]:
        """Restore a stream of frames.

        Args:
            images (Iterable[np.ndarray]): ``(h, w, 3)`` RGB frames, all of one size, uint8
                (0-255) or uint16 (0-65535).

        Yields:
            torch.Tensor: Restored ``(3, s*h, s*w)`` float32 frames on the CPU, in [0, 1] up to
            the network's overshoot (not clamped, not quantised), one per input frame, each as
            soon as it is finished.
        """
        for out in self._chunks(self._tensors(images)):
            yield out.cpu()

    def _chunks(self, frames: Iterable) -> Iterator[torch.Tensor]:
        """The chunker over device frames (the plan may replace it on the first frame)."""
        frames = iter(frames)
        first = next(frames, None)  # plans on the first frame, which may change the chunker
        if first is None:
            return

        def again():
            yield first
            yield from frames

        yield from self.chunker(again(), self._chunk_fn)

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
