"""One call from an input path to a restored output: the API under the command line.

>>> from realbasicvsr_plugin.apis import super_resolve
>>> super_resolve('in.mp4', 'out.mp4', checkpoint='model.pth', config='config.py')

Settings come, in this order of precedence, from the call's arguments, from the config's
``inference_cfg`` dict, and from :data:`INFERENCE_DEFAULTS`.
"""
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .atomic_output import AtomicOutput, check_output_path, frame_file_test, reserve_output
from .cancellation import check_termination
from .errors import InferenceError
from .frame_readers import FrameReader, VideoFileReader, open_frame_reader
from .frame_writers import (FrameWriter, PngFolderWriter, SingleImageWriter, VideoFileWriter,
                            output_kind, quantise)
from .memory_budget import encoder_reserve, parse_size
from .model_loading import load_config, load_model
from .option_checks import check_fps, check_options, check_tile_for_model
from .scene_cuts import parse_threshold
from .segments import (DEFAULT_SEGMENT_FRAMES, SegmentPlan, SegmentRecord, WorkFolder,
                       input_fingerprint,
                       join_frame_segments, join_video_segments, model_fingerprint,
                       plan_segments, segment_inputs, work_folder_for)
from .streaming_inferencer import StreamingInferencer, check_precision, resolve_device

#: Built-in defaults of the streaming settings (overridden by a config's ``inference_cfg``).
INFERENCE_DEFAULTS = dict(
    max_seq_len='auto',  # frames per temporal chunk, from max_memory; 0 = the whole clip at once
    overlap=4,  # frames shared by consecutive chunks, cross-faded
    tile='auto',  # tile size in input pixels, only when max_memory needs it; 0 = no tiling
    tile_overlap=16,  # overlap of tiles in input pixels, cross-faded
    dynamic_refine_thres=None,  # None keeps the network's configured threshold
    max_passes=None,  # None keeps the network's configured maximum
    codec=None,  # None: H.264 where the container allows it
    crf=None,  # None: 18 for CRF encoders unless a bit rate is given
    bitrate=None,
    pix_fmt=None,  # None: 4:2:0 at the source's bit depth where the codec can, else yuv420p
    fps=None,  # None: the source's timestamps (25 fps for images); a number forces that rate
    max_memory=None,  # None: 80% of the available RAM (CPU) or free device memory (CUDA)
    scene_cuts=None,  # None: detect cuts at the default threshold; 'off': no detection
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
        warnings (list[str]): One-line warnings for the user: malformed colour or rotation
            metadata of the source (and the fallback taken), and what of the source the output
            could not carry.
        plan (str | None): The chunk length and tiles used, and the memory estimate.
        scene_cuts (int): Scene cuts found (chunks end there).
        resumed_frames (int): Frames of an interrupted run that were kept (``resume=True``).
    """
    output: Path
    kind: str
    frames: int
    seconds: float
    input_size: Tuple[int, int]
    output_size: Tuple[int, int]
    audio: Optional[str] = None
    mean_passes: Optional[float] = None
    warnings: List[str] = field(default_factory=list)
    plan: Optional[str] = None
    scene_cuts: int = 0
    resumed_frames: int = 0

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
                  checkpoint: Optional[str] = None, model_name: Optional[str] = None,
                  trust_checkpoint: bool = False, device: str = 'auto',
                  precision: str = 'fp32', max_seq_len: Optional[int] = None,
                  overlap: Optional[int] = None, tile: Optional[int] = None,
                  tile_overlap: Optional[int] = None,
                  dynamic_refine_thres: Union[float, str, None] = None,
                  max_passes: Optional[int] = None, start: int = 0, end: Optional[int] = None,
                  codec: Optional[str] = None, crf: Optional[int] = None,
                  bitrate: Union[str, int, None] = None, pix_fmt: Optional[str] = None,
                  fps: Union[float, Fraction, None] = None, audio: bool = True,
                  overwrite: bool = False, progress: bool = False,
                  png_compression: int = 3, png_bit_depth: Optional[int] = None,
                  max_memory: Union[int, str, None] = None,
                  scene_cuts: Union[float, str, None] = None, resume: bool = False,
                  segment_frames: Optional[int] = None, backend: str = 'pytorch',
                  onnx: Union[str, Path, None] = None, providers: Optional[str] = None,
                  trt_cache: Union[str, Path, None] = None) -> InferenceSummary:
    """Restore a video, a folder of frames or an image, streaming frame by frame.

    Long jobs (more than about ``segment_frames`` frames) are written in closed segments in a
    work folder beside the output, so that a run that was killed can continue with
    ``resume=True`` (see :mod:`.segments`); the result is the same either way.

    Args:
        input (str | Path): Video file (anything PyAV decodes), folder of images, or image.
        output (str | Path): Video file (format from its extension), folder for PNG frames
            (no extension or an existing folder), or an image file for a one-frame input.
        model (nn.Module, optional): An already built network; otherwise it is built from
            ``config`` and ``checkpoint``. With a model, ``config`` (if given) only supplies
            its ``inference_cfg``.
        config (str | Path | Config, optional): Plugin config of the network.
        checkpoint (str, optional): Checkpoint path or URL. With neither config nor checkpoint
            the shipped demo model is used.
        model_name (str, optional): A released model by name (see
            :data:`~.official_models.OFFICIAL_MODELS`), instead of config and checkpoint.
        trust_checkpoint (bool): Unpickle the checkpoint fully (trusted files only).
        device (str): ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:N'``. Defaults to ``'auto'``.
        precision (str): ``'fp32'``, ``'fp16'`` (CUDA GPUs) or ``'bf16'`` (CUDA GPUs, CPUs with
            native bfloat16).
        max_seq_len (int, optional): Frames per temporal chunk (0: whole clip at once).
        overlap (int, optional): Frames shared by consecutive chunks.
        tile (int, optional): Tile size in input pixels (0: no tiling).
        tile_overlap (int, optional): Overlap of neighbouring tiles in input pixels.
        dynamic_refine_thres (float | str, optional): Dynamic-refinement threshold (0-255 scale),
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
        png_bit_depth (int, optional): 8 or 16 bits per channel for frame folders (and PNG/TIFF
            image outputs); ``None``: 16 for sources of more than 8 bits, else 8.
        max_memory (int | str, optional): Memory budget of the whole run (``'6G'``, bytes):
            peak resident memory on a CPU, peak allocated device memory on CUDA. Default: 80%
            of the available RAM or free device memory (see ``docs/inference.md``).
        scene_cuts (float | str, optional): Scene-cut threshold (0-1, histogram distance of
            consecutive frames), or ``'off'``. Chunks end at cuts. Default: 0.4.
        resume (bool): Continue the interrupted run whose work folder is beside the output
            (refused, before anything starts, when there is none or its settings differ).
            Defaults to False.
        segment_frames (int, optional): Output frames per segment of a long job (default
            :data:`~.segments.DEFAULT_SEGMENT_FRAMES`; 0: never write segments, so no resume).
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
    check_options(dict(locals()))  # types and ranges, before anything is opened
    began = time.perf_counter()
    input, output = Path(input), Path(output)
    kind = output_kind(output)
    if resume:
        check_resumable(output, kind)
    check_output_path(output, kind == 'frames', overwrite, inputs=[input])
    if backend == 'onnxruntime':  # the graphs are checked before any frame is decoded
        if model is not None:
            raise InferenceError('model is run by backend pytorch only; backend onnxruntime '
                                 'runs the graphs of the onnx folder', param='model')
        from realbasicvsr_plugin.deploy.backend import deploy_model
        model, dev, precision = deploy_model(onnx, providers, precision, device, trt_cache,
                                             config, checkpoint, trust_checkpoint)
    else:
        from realbasicvsr_plugin.deploy.backend import check_backend
        check_backend(backend, onnx)
        dev = resolve_device(device)
        check_precision(precision, dev)
    if max_memory not in (None, 'auto'):  # bad values are refused before any work
        parse_size(max_memory)
    parse_threshold(scene_cuts)
    if segment_frames is not None and segment_frames < 0:
        raise InferenceError(f'segment_frames must be >= 0 (0: off), got {segment_frames}',
                             param='segment_frames')

    with open_frame_reader(input, start, end) as reader, \
            reserve_output(output, kind == 'frames', overwrite, [input],
                           _frame_files(reader)):  # before any model work
        if kind == 'image' and reader.num_frames not in (None, 1):
            raise InferenceError(f"output '{output}' is a single image but the input has "
                                 f'{reader.num_frames} frames; give a folder or a video path')
        if model is None:
            model, cfg = load_model(config, checkpoint, device=dev,
                                    trust_checkpoint=trust_checkpoint, model_name=model_name,
                                    progress=progress)
        else:
            cfg = load_config(config) if config is not None else None
        opts = _settings(cfg, dict(max_seq_len=max_seq_len, overlap=overlap, tile=tile,
                                   tile_overlap=tile_overlap,
                                   dynamic_refine_thres=dynamic_refine_thres,
                                   max_passes=max_passes, codec=codec, crf=crf, bitrate=bitrate,
                                   pix_fmt=pix_fmt, fps=fps, max_memory=max_memory,
                                   scene_cuts=scene_cuts))
        check_tile_for_model(opts['tile'], model)
        check_options(opts)  # the config's inference_cfg too
        fingerprint = model_fingerprint(model)  # before the inferencer moves or reformats it
        inferencer = StreamingInferencer(
            model, device=dev, precision=precision, max_seq_len=opts['max_seq_len'],
            overlap=opts['overlap'], tile=opts['tile'], tile_overlap=opts['tile_overlap'],
            dynamic_refine_thres=opts['dynamic_refine_thres'], max_passes=opts['max_passes'],
            max_memory=opts['max_memory'], scene_cuts=opts['scene_cuts'])
        width, height = reader.size
        out_size = (width * inferencer.scale, height * inferencer.scale)
        # chunk length and tiles from the budget, before decoding (refused here if none fits)
        memory_plan = inferencer.plan_for(
            (height, width), num_frames=reader.num_frames,
            reserve=encoder_reserve(*out_size) if kind == 'video' else 0)
        job = _Job(input=input, output=output, kind=kind, reader=reader, inferencer=inferencer,
                   opts=opts, audio=audio, overwrite=overwrite, png_compression=png_compression,
                   png_bit_depth=png_bit_depth, progress=progress, out_size=out_size)
        plan = None if kind == 'image' else plan_segments(
            memory_plan.max_seq_len or 0, opts['overlap'],
            DEFAULT_SEGMENT_FRAMES if segment_frames is None else segment_frames)
        if resume and plan is None:
            raise InferenceError('resume needs a job written in segments, which max_seq_len 0 '
                                 '(the whole clip at once) or segment_frames 0 rule out',
                                 param='resume')
        short = reader.num_frames is not None and plan is not None and \
            reader.num_frames <= plan.inputs(0)[1]
        resumed = 0
        if plan is None or (short and not resume):
            frames, audio_mode, warnings = _restore_in_one_go(job)
        else:
            settings = _job_settings(job, fingerprint, start, end, precision, dev, plan)
            frames, audio_mode, resumed, uncarried = _restore_in_segments(
                job, plan, settings, resume, start, end)
            warnings = _fidelity_warnings(reader, output, uncarried)
        return InferenceSummary(output=output, kind=kind, frames=frames,
                                seconds=time.perf_counter() - began,
                                input_size=(width, height), output_size=out_size,
                                audio=audio_mode, mean_passes=inferencer.mean_passes(),
                                warnings=warnings, plan=memory_plan.describe(),
                                scene_cuts=inferencer.scene_cuts, resumed_frames=resumed)


def _frame_files(reader):
    """The names of the frame files a folder output of ``reader`` gets."""
    return frame_file_test(f.stem for f in getattr(reader, 'files', ()))


@dataclass
class BatchResult:
    """The outcome of one input of :func:`super_resolve_many`.

    Attributes:
        input (Path): The input.
        output (Path): Its output path.
        summary (InferenceSummary | None): What was written, when it succeeded.
        error (Exception | None): Why it failed, when it did.
    """
    input: Path
    output: Path
    summary: Optional[InferenceSummary] = None
    error: Optional[Exception] = None

    @property
    def ok(self) -> bool:
        """Whether the input was restored (or, when resuming a batch, was already done)."""
        return self.error is None

    @property
    def status(self) -> str:
        """``'done'``, ``'failed'`` or ``'skipped'`` (its output was already complete)."""
        if self.error is not None:
            return 'failed'
        return 'done' if self.summary is not None else 'skipped'


def batch_output_path(input: Union[str, Path], output_dir: Union[str, Path]) -> Path:
    """The output of ``input`` in ``output_dir``: the same name (a video stays a video of the
    same container, a folder of frames becomes a folder of PNG frames, an image an image).

    Args:
        input (str | Path): Video file, folder of frames or image.
        output_dir (str | Path): The output folder.

    Returns:
        Path: ``output_dir / <input's name>``.
    """
    input = Path(input)
    return Path(output_dir) / (input.name or input.resolve().name)


def super_resolve_many(inputs: Sequence[Union[str, Path]], output_dir: Union[str, Path], *,
                       model: Optional[nn.Module] = None, config=None,
                       checkpoint: Optional[str] = None, model_name: Optional[str] = None,
                       trust_checkpoint: bool = False, device: str = 'auto',
                       progress: bool = False,
                       on_result: Optional[Callable[[BatchResult], None]] = None,
                       **options) -> List[BatchResult]:
    """Restore several inputs into one folder with one network, each output named after its
    input (:func:`batch_output_path`).

    The network is loaded once. An input that fails is recorded with its error and the others
    go on; Ctrl-C and SIGTERM stop the whole batch.

    Args:
        inputs (Sequence[str | Path]): Video files, folders of frames or images.
        output_dir (str | Path): Folder for the outputs (created if needed).
        model, config, checkpoint, model_name, trust_checkpoint, device, progress: As for
            :func:`super_resolve`.
        on_result (Callable[[BatchResult], None], optional): Called after each input.
        **options: Any other keyword argument of :func:`super_resolve` (``max_seq_len``,
            ``codec``, ``overwrite``, ...), the same for every input. With ``resume=True`` a
            batch continues where it stopped: an input with a work folder is resumed, one whose
            output exists (and has no work folder) is skipped, any other starts afresh.

    Returns:
        list[BatchResult]: One per input, in order.
    """
    output_dir = Path(output_dir)
    if not inputs:
        raise InferenceError('inputs: no input given', param='inputs')
    if output_dir.exists() and not output_dir.is_dir():
        raise InferenceError(f"output_dir '{output_dir}' is a file, not a folder",
                             param='output_dir')
    dev = resolve_device(device)
    check_precision(options.get('precision', 'fp32'), dev)
    if model is None:
        model, config = load_model(config, checkpoint, device=dev,
                                   trust_checkpoint=trust_checkpoint, model_name=model_name,
                                   progress=progress)
    results: List[BatchResult] = []
    claimed: dict = {}
    for input in inputs:
        input = Path(input)
        output = batch_output_path(input, output_dir)
        result = BatchResult(input, output)
        run = dict(options)
        if run.get('resume') and not (work_folder_for(output) / 'settings.json').is_file():
            run['resume'] = False  # not started before: start it; finished: skip it
        try:
            if output in claimed:
                raise InferenceError(f"output '{output}' would also be the output of "
                                     f"'{claimed[output]}' (two inputs of the same name)")
            claimed[output] = input
            if not (options.get('resume') and not run['resume'] and output.exists()):
                output_dir.mkdir(parents=True, exist_ok=True)
                result.summary = super_resolve(input, output, model=model, config=config,
                                               device=dev, progress=progress, **run)
        except Exception as err:  # noqa: BLE001  (one input's failure must not stop the others)
            result.error = err
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


@dataclass
class _Job:
    """What one input's restoration needs, once the reader and the network are ready."""
    input: Path
    output: Path
    kind: str
    reader: FrameReader
    inferencer: StreamingInferencer
    opts: dict
    audio: bool
    overwrite: bool
    png_compression: int
    png_bit_depth: Optional[int]
    progress: bool
    out_size: Tuple[int, int]

    def write_restored(self, frames, writer: FrameWriter, bar, keep=None) -> None:
        """Restore ``frames`` (``Frame`` objects) and write those ``keep(index)`` accepts."""
        # each frame's name, index and timestamp travel beside it (the tag without its pixels)
        pairs = ((frame._replace(image=None), frame.image) for frame in frames)
        width, height = self.out_size
        for tag, restored in self.inferencer.restore_named(pairs):
            check_termination()
            if keep is not None and not keep(tag.index):
                continue
            if tuple(restored.shape[-2:]) != (height, width):
                raise InferenceError(
                    f'the network returned {restored.shape[-1]}x{restored.shape[-2]} '
                    f'frames, expected {width}x{height} (its scale attribute says '
                    f'x{self.inferencer.scale})')
            writer.write(quantise(restored, writer.bit_depth), tag.name, tag.pts)
            bar.update(1)

    def open_writer(self, output: Path, overwrite: bool, segment: bool = False) -> FrameWriter:
        """The writer of this job's kind at ``output`` (or of one of its segments)."""
        return _open_writer(self.kind, output, self.reader, self.out_size, self.opts,
                            self.audio, overwrite, self.input, self.png_compression,
                            self.png_bit_depth, segment=segment)


def _restore_in_one_go(job: _Job) -> Tuple[int, Optional[str], List[str]]:
    """Restore the whole input into the output with one writer (short jobs, images).

    Returns:
        tuple[int, str | None, list[str]]: Frames written, the audio mode and the warnings.
    """
    writer = job.open_writer(job.output, job.overwrite)
    with writer:
        bar = _progress_bar(job.reader.num_frames, job.progress)
        # closed explicitly below: left to the garbage collector after an exception, the
        # suspended decoding generator would be finalised after its container is closed,
        # which can block forever inside FFmpeg's threaded decoder
        source = iter(job.reader)
        try:
            job.write_restored(_checked(source), writer, bar)
        finally:
            source.close()
            bar.close()
    audio_mode = writer.audio_mode if isinstance(writer, VideoFileWriter) else None
    return writer.frames_written, audio_mode, _fidelity_warnings(
        job.reader, job.output, getattr(writer, 'uncarried', []))


def check_resumable(output: Path, kind: str) -> None:
    """Refuse ``resume`` before anything starts when there is nothing to resume.

    Args:
        output (Path): The output path.
        kind (str): Its kind (:func:`output_kind`).

    Raises:
        InferenceError: An image output, or no work folder beside the output.
    """
    if kind == 'image':
        raise InferenceError(f"resume: output '{output}' is a single image, which is never "
                             'written in segments', param='resume')
    folder = work_folder_for(output)
    if not (folder / 'settings.json').is_file():
        raise InferenceError(f"resume: there is no work folder '{folder}' of an interrupted "
                             'run to continue (nothing was started)', param='resume')


def _job_settings(job: _Job, model_fp: str, start: int, end: Optional[int], precision: str,
                  device, plan: SegmentPlan) -> dict:
    """Everything that changes a segmented job's result, for its work folder's fingerprint."""
    from realbasicvsr_plugin import __version__

    model = job.inferencer.model
    return dict(
        plugin=__version__, input=input_fingerprint(job.input), start=start, end=end,
        output=f'{job.kind}:{job.output.suffix}', model=model_fp,
        refinement=[str(getattr(model, 'dynamic_refine_thres', None)),
                    str(getattr(model, 'max_passes', None))],
        options={k: None if v is None else str(v) for k, v in sorted(job.opts.items())},
        precision=precision, device=torch.device(device).type, audio=job.audio,
        png_compression=job.png_compression, png_bit_depth=job.png_bit_depth,
        segments=[plan.chunk, plan.overlap, plan.periods])


def _restore_in_segments(job: _Job, plan: SegmentPlan, settings: dict, resume: bool,
                         start: int, end: Optional[int]
                         ) -> Tuple[int, Optional[str], int, List[str]]:
    """Restore a long job segment by segment in its work folder, then join the segments.

    Returns:
        tuple[int, str | None, int, list[str]]: Frames written in all, the audio mode, the
        frames that were already done by an interrupted run, and what the output does not
        carry.
    """
    suffix = job.output.suffix if job.kind == 'video' else ''
    folder = work_folder_for(job.output)
    work = (WorkFolder.resume if resume else WorkFolder.start)(folder, suffix, settings)
    done = work.completed()
    work.discard_from(len(done))
    written = resumed = sum(record.frames for record in done)
    count = len(done)
    try:
        if not (done and done[-1].last):
            first_input = plan.inputs(count)[0]
            reader = job.reader if first_input == 0 else \
                open_frame_reader(job.input, start + first_input, end)
            bar = _progress_bar(job.reader.num_frames, job.progress, initial=written)
            source = iter(reader)
            try:
                for k, frames, end_flag in segment_inputs(_checked(source), plan, count, start):
                    out_first, out_stop = plan.outputs(k)

                    def keep(index, out_first=out_first, out_stop=out_stop, end_flag=end_flag):
                        rel = index - start
                        return rel >= out_first and (rel < out_stop or end_flag.last)

                    writer = job.open_writer(work.segment_path(k), True, segment=True)
                    with writer:
                        job.write_restored(frames, writer, bar, keep)
                    done.append(work.mark_done(k, writer.frames_written, end_flag.last,
                                               getattr(writer, 'first_source_pts', None),
                                               getattr(writer, 'notes', None)))
                    written += writer.frames_written
                    count += 1
            finally:
                source.close()
                bar.close()
                if reader is not job.reader:
                    reader.close()
        audio_mode, uncarried = _join_segments(job, work, done)
    except BaseException:
        if not work.has_records():
            work.remove()  # nothing worth resuming
        raise
    work.remove()
    return written, audio_mode, resumed, uncarried


def _join_segments(job: _Job, work: WorkFolder,
                   records: List[SegmentRecord]) -> Tuple[Optional[str], List[str]]:
    """Join the segments into the output: stream copy, carrying the rest of the source as the
    one-go writer does (its timeline, audio, subtitles, rotation, metadata).

    Returns:
        tuple[str | None, list[str]]: The audio mode and what the output does not carry.
    """
    segments = [work.segment_path(record.index) for record in records]
    target = AtomicOutput(job.output, job.kind == 'frames', overwrite=job.overwrite,
                          inputs=[job.input])
    try:
        audio_mode, uncarried = None, []
        if job.kind == 'frames':
            join_frame_segments(segments, target.temp_path)
        else:
            source = _source_properties(job.reader)
            timed = _is_timed(source, job.opts)
            audio_mode, uncarried = join_video_segments(
                segments, target.temp_path, source=source,
                first_pts=[record.first_pts for record in records],
                time_origin=source.time_origin() if timed else None,
                rate=_output_rate(job.reader, job.opts), audio=job.audio,
                trim_end=job.reader.end is not None)
            uncarried += records[0].notes if records else []
        target.commit()
    except BaseException:
        target.discard()
        raise
    return audio_mode, uncarried


def _checked(reader):
    """The reader's frames, stopping at a requested termination before each one."""
    for frame in reader:
        check_termination()
        yield frame


def _source_properties(reader):
    """The probed source video of ``reader`` (None for images)."""
    return reader.properties if isinstance(reader, VideoFileReader) else None


def _is_timed(source, opts: dict) -> bool:
    """Whether the output keeps the source's timestamps (not when a rate is forced)."""
    return source is not None and source.time_base is not None and not opts['fps']


def _output_rate(reader, opts: dict) -> Fraction:
    """The output's frame rate: the forced one, the source's, or that of an image sequence."""
    return check_fps(opts['fps']) or Fraction(reader.fps or IMAGE_SEQUENCE_FPS
                                              ).limit_denominator(1001000)


def _open_writer(kind: str, output: Path, reader, size: Tuple[int, int], opts: dict,
                 audio: bool, overwrite: bool, input: Path, png_compression: int,
                 png_bit_depth: Optional[int] = None, segment: bool = False) -> FrameWriter:
    """Create the writer for ``kind``, checking the encoder settings before any work.

    A ``segment`` of a long job holds the video alone, its first frame at 0 and the others
    keeping their source timestamps' distances to it (every container holds that, where an AVI
    cannot start later than 0); :func:`~.segments.join_video_segments` puts it back at its
    source time (recorded with it) and carries the rest.
    """
    depth = png_bit_depth or reader.bit_depth
    if kind == 'frames':
        return PngFolderWriter(output, overwrite=overwrite, inputs=[input],
                               compression=png_compression, bit_depth=depth,
                               frame_files=_frame_files(reader))
    if kind == 'image':
        return SingleImageWriter(output, overwrite=overwrite, inputs=[input], bit_depth=depth)
    source = _source_properties(reader)
    # the source's timestamps unless a rate is forced; a range starts where the source starts
    timed = _is_timed(source, opts)
    return VideoFileWriter(output, size, _output_rate(reader, opts), codec=opts['codec'],
                           crf=opts['crf'], bitrate=opts['bitrate'], pix_fmt=opts['pix_fmt'],
                           source=source, audio=audio, carry=not segment,
                           time_base=source.time_base if timed else None,
                           time_origin=(0 if segment else source.time_origin()) if timed
                           else None,
                           trim_end=reader.end is not None and not segment,
                           overwrite=overwrite, inputs=[input])


def _fidelity_warnings(reader, output: Path, uncarried: List[str]) -> List[str]:
    """The source's metadata warnings and one line of what the output could not carry."""
    source = _source_properties(reader)
    lines = list(source.warnings) if source is not None else []
    if uncarried:
        lines.append(f"'{output}' does not carry the source's {'; '.join(uncarried)}")
    return lines


def _progress_bar(total: Optional[int], enabled: bool, initial: int = 0):
    """A tqdm bar in frames with rate (frames/s) and ETA on stderr (inert when not enabled)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit='frame', desc='restoring', file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1, disable=not enabled)
