"""One call from an input path to a restored output: the API under the command line.

>>> from realbasicvsr_plugin.apis import super_resolve
>>> super_resolve('in.mp4', 'out.mp4', checkpoint='model.pth', config='config.py')

Settings come, in this order of precedence, from the call's arguments, from the config's
``inference_cfg`` dict, and from :data:`INFERENCE_DEFAULTS`.
"""
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional, Tuple, Union

from torch import nn

from .atomic_output import check_output_path
from .cancellation import check_termination
from .errors import InferenceError
from .frame_readers import VideoFileReader, open_frame_reader
from .frame_writers import (FrameWriter, PngFolderWriter, SingleImageWriter, VideoFileWriter,
                            output_kind)
from .model_loading import load_model
from .streaming_inferencer import StreamingInferencer, check_precision, resolve_device, to_uint8

#: Built-in defaults of the streaming settings (overridden by a config's ``inference_cfg``).
INFERENCE_DEFAULTS = dict(
    max_seq_len=32,  # frames per temporal chunk; 0 = the whole clip at once
    overlap=4,  # frames shared by consecutive chunks, cross-faded
    tile=0,  # tile size in input pixels; 0 = no tiling
    tile_overlap=16,  # overlap of tiles in input pixels, cross-faded
    refine_threshold=None,  # None keeps the network's configured threshold
    max_passes=None,  # None keeps the network's configured maximum
    codec=None,  # None: H.264 where the container allows it
    crf=None,  # None: 18 for CRF encoders unless a bit rate is given
    bitrate=None,
    pix_fmt='yuv420p',
    fps=None,  # None: the source's frame rate (25 for images)
)

#: Frame rate of a video written from images when none is given.
IMAGE_SEQUENCE_FPS = Fraction(25)


@dataclass
class InferenceSummary:
    """What a run did.

    Attributes:
        output (Path): The output written.
        kind (str): ``'video'``, ``'frames'`` or ``'image'``.
        frames (int): Number of frames written.
        seconds (float): Wall time of the whole run (decode, model, encode).
        input_size (tuple[int, int]): ``(width, height)`` of the input frames.
        output_size (tuple[int, int]): ``(width, height)`` of the output frames.
        audio (str | None): ``'copy'``, ``'transcode'`` or None (no audio carried).
        mean_passes (float | None): Average cleaning passes per frame, if the network reports it.
    """
    output: Path
    kind: str
    frames: int
    seconds: float
    input_size: Tuple[int, int]
    output_size: Tuple[int, int]
    audio: Optional[str] = None
    mean_passes: Optional[float] = None

    @property
    def fps(self) -> float:
        """Frames per second, end to end."""
        return self.frames / self.seconds if self.seconds > 0 else float('nan')


def _settings(cfg, given: dict) -> dict:
    """Merge the call's settings over the config's ``inference_cfg`` over the defaults."""
    settings = dict(INFERENCE_DEFAULTS)
    if cfg is not None and cfg.get('inference_cfg'):
        unknown = set(cfg.inference_cfg) - set(INFERENCE_DEFAULTS)
        if unknown:
            raise InferenceError(f"config '{cfg.filename}': unknown inference_cfg keys "
                                 f'{sorted(unknown)} (known: {sorted(INFERENCE_DEFAULTS)})')
        settings.update(cfg.inference_cfg)
    settings.update({k: v for k, v in given.items() if v is not None})
    return settings


def super_resolve(input: Union[str, Path], output: Union[str, Path], *,
                  model: Optional[nn.Module] = None, config=None,
                  checkpoint: Optional[str] = None, trust_checkpoint: bool = False,
                  device: str = 'auto',
                  precision: str = 'fp32', max_seq_len: Optional[int] = None,
                  overlap: Optional[int] = None, tile: Optional[int] = None,
                  tile_overlap: Optional[int] = None,
                  refine_threshold: Union[float, str, None] = None,
                  max_passes: Optional[int] = None, start: int = 0, end: Optional[int] = None,
                  codec: Optional[str] = None, crf: Optional[int] = None,
                  bitrate: Union[str, int, None] = None, pix_fmt: Optional[str] = None,
                  fps: Union[float, Fraction, None] = None, audio: bool = True,
                  overwrite: bool = False, progress: bool = False,
                  png_compression: int = 3, backend: str = 'pytorch',
                  onnx: Union[str, Path, None] = None, providers: Optional[str] = None,
                  trt_cache: Union[str, Path, None] = None) -> InferenceSummary:
    """Restore a video, a folder of frames or an image, streaming frame by frame.

    Args:
        input (str | Path): Video file (anything PyAV decodes), folder of images, or image.
        output (str | Path): Video file (format from its extension), folder for PNG frames
            (no extension or an existing folder), or an image file for a one-frame input.
        model (nn.Module, optional): An already built network; otherwise it is built from
            ``config`` and ``checkpoint``.
        config (str | Path | Config, optional): Plugin config of the network.
        checkpoint (str, optional): Checkpoint path or URL. With neither config nor checkpoint
            the shipped demo model is used.
        trust_checkpoint (bool): Unpickle the checkpoint fully (trusted files only).
        device (str): ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:N'``. Defaults to ``'auto'``.
        precision (str): ``'fp32'``, ``'fp16'`` (CUDA GPUs) or ``'bf16'`` (CUDA GPUs, CPUs with
            native bfloat16).
        max_seq_len (int, optional): Frames per temporal chunk (0: whole clip at once).
        overlap (int, optional): Frames shared by consecutive chunks.
        tile (int, optional): Tile size in input pixels (0: no tiling).
        tile_overlap (int, optional): Overlap of neighbouring tiles in input pixels.
        refine_threshold (float | str, optional): Dynamic-refinement threshold (0-255 scale),
            or ``'off'`` for one cleaning pass.
        max_passes (int, optional): Maximum cleaning passes.
        start (int): First frame to restore (0-based). Defaults to 0.
        end (int, optional): Frame index one past the last to restore.
        codec (str, optional): Video encoder.
        crf (int, optional): Constant rate factor of the encoder.
        bitrate (str | int, optional): Video bit rate (e.g. ``'8M'``), instead of ``crf``.
        pix_fmt (str, optional): Pixel format of the output video.
        fps (float | Fraction, optional): Output frame rate (default: the source's).
        audio (bool): Carry the source's audio over into a video output. Defaults to True.
        overwrite (bool): Replace an existing output. Defaults to False.
        progress (bool): Show a progress bar on stderr. Defaults to False.
        png_compression (int): PNG compression level for frame folders. Defaults to 3.
        backend (str): ``'pytorch'`` (default), or ``'onnxruntime'`` to run the graphs of an
            ONNX export folder (``onnx``) on ONNX Runtime, through the same streaming path
            (see docs/deploy.md).
        onnx (str | Path, optional): The export folder, for backend ``'onnxruntime'``.
        providers (str, optional): ONNX Runtime execution providers, comma-separated
            (``tensorrt``, ``cuda``, ``cpu``); default ``'auto'``: those present.
        trt_cache (str | Path, optional): TensorRT engine cache folder.

    Returns:
        InferenceSummary: What was written.
    """
    began = time.perf_counter()
    input, output = Path(input), Path(output)
    kind = output_kind(output)
    check_output_path(output, kind == 'frames', overwrite, inputs=[input])
    if backend == 'onnxruntime':  # the graphs are checked before any frame is decoded
        from realbasicvsr_plugin.deploy.backend import deploy_model
        model, dev, precision = deploy_model(onnx, providers, precision, device, trt_cache,
                                             config, checkpoint, trust_checkpoint)
    else:
        from realbasicvsr_plugin.deploy.backend import check_backend
        check_backend(backend, onnx)
        dev = resolve_device(device)
        check_precision(precision, dev)

    with open_frame_reader(input, start, end) as reader:
        if kind == 'image' and reader.num_frames not in (None, 1):
            raise InferenceError(f"output '{output}' is a single image but the input has "
                                 f'{reader.num_frames} frames; give a folder or a video path')
        cfg = None
        if model is None:
            model, cfg = load_model(config, checkpoint, device=dev,
                                    trust_checkpoint=trust_checkpoint)
        opts = _settings(cfg, dict(max_seq_len=max_seq_len, overlap=overlap, tile=tile,
                                   tile_overlap=tile_overlap, refine_threshold=refine_threshold,
                                   max_passes=max_passes, codec=codec, crf=crf, bitrate=bitrate,
                                   pix_fmt=pix_fmt, fps=fps))
        inferencer = StreamingInferencer(
            model, device=dev, precision=precision, max_seq_len=opts['max_seq_len'],
            overlap=opts['overlap'], tile=opts['tile'], tile_overlap=opts['tile_overlap'],
            refine_threshold=opts['refine_threshold'], max_passes=opts['max_passes'])
        width, height = reader.size
        out_size = (width * inferencer.scale, height * inferencer.scale)
        writer = _open_writer(kind, output, reader, out_size, opts, audio, overwrite, input,
                              png_compression)
        with writer:
            bar = _progress_bar(reader.num_frames, progress)
            # closed explicitly below: left to the garbage collector after an exception, the
            # suspended decoding generator would be finalised after its container is closed,
            # which can block forever inside FFmpeg's threaded decoder
            source = iter(reader)
            try:
                frames = ((frame.name, frame.image) for frame in _checked(source))
                for name, restored in inferencer.restore_named(frames):
                    check_termination()
                    if tuple(restored.shape[-2:]) != (out_size[1], out_size[0]):
                        raise InferenceError(
                            f'the network returned {restored.shape[-1]}x{restored.shape[-2]} '
                            f'frames, expected {out_size[0]}x{out_size[1]} (its scale '
                            f'attribute says x{inferencer.scale})')
                    writer.write(to_uint8(restored), name)
                    bar.update(1)
            finally:
                source.close()
                bar.close()
        audio_mode = writer.audio_mode if isinstance(writer, VideoFileWriter) else None
        return InferenceSummary(output=output, kind=kind, frames=writer.frames_written,
                                seconds=time.perf_counter() - began,
                                input_size=(width, height), output_size=out_size,
                                audio=audio_mode, mean_passes=inferencer.mean_passes())


def _checked(reader):
    """The reader's frames, stopping at a requested termination before each one."""
    for frame in reader:
        check_termination()
        yield frame


def _open_writer(kind: str, output: Path, reader, size: Tuple[int, int], opts: dict,
                 audio: bool, overwrite: bool, input: Path, png_compression: int) -> FrameWriter:
    """Create the writer for ``kind``, checking the encoder settings before any work."""
    if kind == 'frames':
        return PngFolderWriter(output, overwrite=overwrite, inputs=[input],
                               compression=png_compression)
    if kind == 'image':
        return SingleImageWriter(output, overwrite=overwrite, inputs=[input])
    rate = opts['fps'] or reader.fps or IMAGE_SEQUENCE_FPS
    try:
        rate = Fraction(rate).limit_denominator(1001000)
    except (TypeError, ValueError):
        raise InferenceError(f"--fps: cannot read '{opts['fps']}' as a number") from None
    audio_source = None
    audio_start, audio_end = 0.0, None
    if audio and isinstance(reader, VideoFileReader):
        audio_source = input
        src_rate = float(reader.fps or rate)
        audio_start = reader.stream_start_time + reader.start / src_rate
        if reader.end is not None:
            audio_end = reader.stream_start_time + reader.end / src_rate
    return VideoFileWriter(output, size, rate, codec=opts['codec'], crf=opts['crf'],
                           bitrate=opts['bitrate'], pix_fmt=opts['pix_fmt'],
                           audio_source=audio_source, audio_start=audio_start,
                           audio_end=audio_end, overwrite=overwrite, inputs=[input])


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: Optional[int], enabled: bool):
    """A tqdm bar in frames with rate (frames/s) and ETA, or a do-nothing stand-in."""
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit='frame', desc='restoring', file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1)
