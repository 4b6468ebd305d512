"""Frame sinks for streaming inference: a video file, a folder of PNG frames, or one image.

Each writer encodes frames as they come and writes to a temporary path beside the output (see
:class:`~realbasicvsr_plugin.apis.atomic_output.AtomicOutput`); :meth:`FrameWriter.close` moves
the finished result into place, :meth:`FrameWriter.abort` (also called when the ``with`` block
raises, Ctrl-C included) removes it.
"""
import re
from abc import ABCMeta, abstractmethod
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Iterable, List, Optional, Tuple, Union

import av
import cv2
import numpy as np
import torch

from .atomic_output import AtomicOutput, FrameFileTest
from .audio_track import ROTATION_FORMATS, SourceCarrier  # noqa: F401  (re-exported)
from .errors import InferenceError
from .frame_readers import IMAGE_EXTENSIONS, to_bit_depth
from .streaming_inferencer import to_uint8
from .video_metadata import (RGB_MATRIX, VideoProperties, conversion_flags, format_bit_depth,
                             output_colour)

#: Encoders that take a constant-rate-factor (``crf``) quality setting.
CRF_CODECS = ('libx264', 'libx264rgb', 'libx265', 'libvpx', 'libvpx-vp9', 'libaom-av1',
              'libsvtav1')


def output_kind(path: Union[str, Path]) -> str:
    """What an output path asks for: ``'frames'`` (a folder), ``'image'`` or ``'video'``.

    An existing folder or a path without extension is a folder of PNG frames; an image
    extension (``.png``, ``.jpg``, ...) is one image; any other extension is a video container.

    Args:
        path (str | Path): The output path.

    Returns:
        str: The kind of output.
    """
    path = Path(path)
    if path.is_dir() or not path.suffix:
        return 'frames'
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return 'image'
    return 'video'


def parse_bitrate(text: Union[str, int, None]) -> Optional[int]:
    """Parse a bit rate such as ``'4M'``, ``'800k'`` or ``2500000`` into bits per second.

    Args:
        text (str | int | None): The bit rate.

    Returns:
        int | None: Bits per second, or None.
    """
    if text is None:
        return None
    if isinstance(text, int):
        value = text
    else:
        match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*(?:bps|b/s)?\s*', str(text))
        if not match:
            raise InferenceError(f"bitrate: cannot read '{text}' (examples: 4M, 800k, 2500000)",
                                 param='bitrate')
        scale = {'': 1, 'k': 10**3, 'm': 10**6, 'g': 10**9}[match.group(2).lower()]
        value = int(float(match.group(1)) * scale)
    if value <= 0:
        raise InferenceError(f'bitrate must be positive, got {text}', param='bitrate')
    return value


class FrameWriter(metaclass=ABCMeta):
    """Base class of the frame sinks.

    Args:
        path (str | Path): Final output path.
        overwrite (bool): Allow replacing an existing output. Defaults to False.
        inputs (Iterable[str | Path]): Input paths that must not be written over.
    """

    is_dir = False
    #: Bits per channel that :meth:`write` expects: 8 (uint8) or 16 (uint16).
    bit_depth = 8

    def __init__(self, path: Union[str, Path], overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = (),
                 frame_files: Optional[FrameFileTest] = None) -> None:
        self.path = Path(path)
        self.output = AtomicOutput(self.path, self.is_dir, overwrite=overwrite, inputs=inputs,
                                   frame_files=frame_files)
        self.frames_written = 0

    @abstractmethod
    def write(self, image: np.ndarray, name: Optional[str] = None,
              pts: Optional[int] = None) -> None:
        """Write one frame.

        Args:
            image (np.ndarray): ``(H, W, 3)`` RGB, uint8 or uint16 (see :attr:`bit_depth`).
            name (str, optional): File stem for the frame (folder output only).
            pts (int, optional): Source timestamp of the frame (video output only).
        """

    def _finish(self) -> None:
        """Flush encoders and close files (before the rename)."""

    def _release(self) -> None:
        """Close files without finishing them (on abort)."""

    def close(self) -> Path:
        """Finish the output and move it into place.

        Returns:
            Path: The output path.
        """
        try:
            self._finish()
        except BaseException:
            self.abort()
            raise
        return self.output.commit()

    def abort(self) -> None:
        """Drop the unfinished output; an existing output at the path is left as it was."""
        try:
            self._release()
        finally:
            self.output.discard()

    def __enter__(self) -> 'FrameWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def quantise(frame: torch.Tensor, bit_depth: int = 8) -> np.ndarray:
    """Quantise a restored ``(3, H, W)`` float frame in [0, 1] to ``(H, W, 3)`` RGB pixels.

    Args:
        frame (torch.Tensor): The frame (values outside [0, 1] are clipped).
        bit_depth (int): 8 for uint8, 16 for uint16. Defaults to 8.

    Returns:
        np.ndarray: The pixels.
    """
    if bit_depth == 8:
        return to_uint8(frame)
    pixels = (frame.detach().float().clamp(0, 1) * 65535.0).round().to(torch.int32)
    return pixels.permute(1, 2, 0).cpu().numpy().astype(np.uint16)


def _check_png_bit_depth(bit_depth: int) -> int:
    if bit_depth not in (8, 16):
        raise InferenceError(f'png_bit_depth must be 8 or 16, got {bit_depth}',
                             param='png_bit_depth')
    return bit_depth


class PngFolderWriter(FrameWriter):
    """Write frames as PNG files into a folder.

    Args:
        path (str | Path): Output folder.
        overwrite (bool): Replace an existing folder (only once the new one is complete).
        inputs (Iterable[str | Path]): Input paths that must not be written over.
        compression (int): PNG compression level, 0-9. Defaults to 3.
        bit_depth (int): 8 or 16 bits per channel. Defaults to 8.
        frame_files (FrameFileTest, optional): The names of the frame files this run writes;
            ``overwrite`` replaces an existing folder only if it holds nothing else (see
            :class:`AtomicOutput`).
    """

    is_dir = True

    def __init__(self, path: Union[str, Path], overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = (), compression: int = 3,
                 bit_depth: int = 8, frame_files: Optional[FrameFileTest] = None) -> None:
        if not 0 <= compression <= 9:
            raise InferenceError(f'png_compression must be in 0..9, got {compression}',
                                 param='png_compression')
        self.bit_depth = _check_png_bit_depth(bit_depth)
        super().__init__(path, overwrite, inputs, frame_files)
        self.compression = compression

    def write(self, image: np.ndarray, name: Optional[str] = None,
              pts: Optional[int] = None) -> None:
        name = name if name is not None else f'{self.frames_written:08d}'
        file = self.output.temp_path / f'{name}.png'
        pixels = to_bit_depth(image, self.bit_depth)
        ok, data = cv2.imencode('.png', np.ascontiguousarray(pixels[..., ::-1]),
                                [cv2.IMWRITE_PNG_COMPRESSION, self.compression])
        if not ok:
            raise InferenceError(f"could not encode frame '{file.name}' of '{self.path}' as PNG")
        try:  # written here rather than by OpenCV, which does not say why a write failed
            file.write_bytes(data.tobytes())
        except OSError as err:
            raise InferenceError(f"cannot write output '{self.path}': {err.strerror} (writing "
                                 f"frame '{file}')") from err
        self.frames_written += 1


class SingleImageWriter(FrameWriter):
    """Write the one frame of a one-frame input as an image file (format from the extension).

    Args:
        path (str | Path): Output image file (``.png``, ``.jpg``, ...).
        overwrite (bool): Replace an existing file.
        inputs (Iterable[str | Path]): Input paths that must not be written over.
        bit_depth (int): 8 or 16 bits per channel; 16 only for PNG and TIFF files (others are
            written at 8). Defaults to 8.
    """

    def __init__(self, path: Union[str, Path], overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = (), bit_depth: int = 8) -> None:
        _check_png_bit_depth(bit_depth)
        if Path(path).suffix.lower() not in ('.png', '.tif', '.tiff'):
            bit_depth = 8
        self.bit_depth = bit_depth
        super().__init__(path, overwrite, inputs)

    def write(self, image: np.ndarray, name: Optional[str] = None,
              pts: Optional[int] = None) -> None:
        if self.frames_written:
            raise InferenceError(f"output '{self.path}' is a single image but the input has "
                                 'more than one frame; give a folder or a video path')
        pixels = to_bit_depth(image, self.bit_depth)
        ok = cv2.imwrite(str(self.output.temp_path), np.ascontiguousarray(pixels[..., ::-1]))
        if not ok:
            raise InferenceError(f"could not write image '{self.path}'")
        self.frames_written += 1

    def _finish(self) -> None:
        if not self.frames_written:
            raise InferenceError(f"no frame was written to '{self.path}'")


def default_pix_fmt(codec: str, source_bits: int) -> Tuple[str, Optional[str]]:
    """The pixel format a video is encoded in when none is given: 4:2:0 at the source's depth.

    Args:
        codec (str): The encoder.
        source_bits (int): Bits per sample of the source (8 for images of 8 bits).

    Returns:
        tuple[str, str | None]: The pixel format, and a note when the codec cannot keep the
        source's depth.
    """
    names = [f.name for f in av.Codec(codec, 'w').video_formats or []]
    if source_bits > 8:
        wanted = ['yuv420p12le', 'yuv420p10le'] if source_bits >= 12 else ['yuv420p10le']
        for pix_fmt in wanted:
            if pix_fmt in names:
                note = None if format_bit_depth(pix_fmt) >= source_bits else \
                    f'bit depth ({source_bits}-bit source written at 10 bits by {codec})'
                return pix_fmt, note
        note = f'bit depth ({source_bits}-bit source written at 8 bits: {codec} takes no ' \
            'high-bit-depth 4:2:0 format; try libx265)'
    else:
        note = None
    if not names or 'yuv420p' in names:
        return 'yuv420p', note
    return names[0], note


class VideoFileWriter(FrameWriter):
    """Encode frames into a video file with PyAV, carrying over what the source video carries.

    From ``source`` (a probed video, see :mod:`~realbasicvsr_plugin.apis.video_metadata`) the
    output takes: the colour matrix and range it is encoded with and its colour tags, the sample
    aspect ratio and the timestamps of the frames (unless ``fps`` is forced), which the encoding
    holds; and, through a :class:`~.audio_track.SourceCarrier` (unless ``carry`` is False), the
    rotation, the container and stream metadata and chapters, its audio streams (copied, or
    transcoded where the container needs it), its subtitle streams (where the container takes
    their codec) and attachments (fonts, into Matroska). What cannot be carried is listed in
    :attr:`uncarried`.

    Args:
        path (str | Path): Output video; the container format follows the extension.
        size (tuple[int, int]): ``(width, height)`` of the frames.
        fps (Fraction | float): Frame rate (the rate of a constant-rate output, and the
            encoder's rate hint otherwise).
        codec (str, optional): Encoder name (``libx264``, ``libx265``, ``libvpx-vp9``,
            ``mpeg4``, ...). ``None`` picks H.264 where the container allows it, else the
            container's default.
        crf (int, optional): Constant rate factor for encoders in :data:`CRF_CODECS`
            (lower is better; 18 is visually lossless for x264). ``None`` uses 18 for such
            encoders unless ``bitrate`` is given.
        bitrate (str | int, optional): Target bit rate, e.g. ``'4M'``.
        pix_fmt (str, optional): Pixel format of the encoded video. ``None``: 4:2:0 at the
            source's bit depth where the codec can (``yuv420p10le`` for a 10-bit source with
            libx264), else ``yuv420p``.
        source (VideoProperties, optional): The source video (None for images).
        audio (bool): Carry the source's audio streams. Defaults to True.
        subtitles (bool): Carry the source's subtitle streams. Defaults to True.
        carry (bool): Carry what the source holds besides its frames (False: only the video,
            as the segments of a long job, whose join carries the rest). Defaults to True.
        time_base (Fraction, optional): Time base of the ``pts`` given to :meth:`write`; with
            it, frames keep their timestamps (variable rates, start offsets). ``None`` writes a
            constant ``fps``.
        time_origin (int, optional): Where the first frame is put (in ``time_base``): the
            output's timeline (audio and subtitles too) is shifted so that the first written
            frame lands there (see :meth:`VideoProperties.time_origin`). ``None`` keeps the
            source's times as they are.
        trim_end (bool): Drop audio and subtitles after the last written frame (for a frame
            range). Defaults to False.
        overwrite (bool): Replace an existing file.
        inputs (Iterable[str | Path]): Input paths that must not be written over.

    Attributes:
        bit_depth (int): 8 or 16: the depth :meth:`write` expects (uint8 or uint16 RGB).
        first_source_pts (int | None): The source timestamp of the first frame written.
        notes (list[str]): What the encoding does not keep (bit depth, colour tags).
        carrier (SourceCarrier | None): What carries the rest of the source.
    """

    def __init__(self, path: Union[str, Path], size: Tuple[int, int],
                 fps: Union[Fraction, float], codec: Optional[str] = None,
                 crf: Optional[int] = None, bitrate: Union[str, int, None] = None,
                 pix_fmt: Optional[str] = None, source: Optional[VideoProperties] = None,
                 audio: bool = True, subtitles: bool = True, carry: bool = True,
                 time_base: Optional[Fraction] = None, time_origin: Optional[int] = None,
                 trim_end: bool = False, overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = ()) -> None:
        fps = Fraction(fps).limit_denominator(1001000) if fps else None
        if not fps or fps <= 0:
            raise InferenceError(f'fps must be positive, got {fps}', param='fps')
        bit_rate = parse_bitrate(bitrate)
        if crf is not None and bit_rate is not None:
            raise InferenceError('give either crf or bitrate, not both', param='crf')
        width, height = size
        self._container = None
        self.carrier: Optional[SourceCarrier] = None
        self.notes: List[str] = []
        self.source = source
        self.time_base = Fraction(time_base) if time_base else None
        self.time_origin = time_origin
        self.trim_end = trim_end
        self._shift: Optional[int] = None  # source pts - output pts, fixed by the first frame
        self._last_pts: Optional[int] = None
        self._last_source_pts: Optional[int] = None
        self._first_source_time: Optional[float] = None
        self.first_source_pts: Optional[int] = None
        super().__init__(path, overwrite, inputs)
        try:
            try:
                self._container = av.open(str(self.output.temp_path), 'w')
            except ValueError as err:  # av cannot tell the format from the extension
                raise InferenceError(
                    f"cannot tell a video format from the extension '{self.path.suffix}' of "
                    f"'{self.path}' (use .mp4, .mkv, .mov, .avi or .webm; no extension or an "
                    'existing folder writes PNG frames)', param='output') from err
            self._container_format = self._container.format.name
            codec = self._choose_codec(codec)
            if pix_fmt is None:
                pix_fmt, note = default_pix_fmt(codec, source.bit_depth if source else 8)
                if note:
                    self.notes.append(note)
            self._check_pix_fmt(codec, pix_fmt, width, height)
            options = {}
            if codec in CRF_CODECS and bit_rate is None:
                crf = 18 if crf is None else crf
                if not 0 <= crf <= 63:
                    raise InferenceError(f'crf must be in 0..63, got {crf}', param='crf')
                options['crf'] = str(crf)
                if codec in ('libvpx', 'libvpx-vp9'):
                    options['b'] = '0'  # constant-quality mode
            elif crf is not None:
                raise InferenceError(f"crf is not supported by codec '{codec}' "
                                     f"(supported: {', '.join(CRF_CODECS)}); use bitrate",
                                     param='crf')
            stream = self._container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            if bit_rate is not None:
                stream.bit_rate = bit_rate
            stream.options = options
            stream.thread_type = 'AUTO'
            if self.time_base is not None:
                stream.codec_context.time_base = self.time_base
                stream.time_base = self.time_base
            else:
                stream.codec_context.time_base = 1 / fps
            self._stream = stream
            self.fps = fps
            self.codec = codec
            self.pix_fmt = pix_fmt
            self.bit_depth = 16 if format_bit_depth(pix_fmt) > 8 else 8
            self._set_colour(stream, width, height)
            if source is not None and source.sample_aspect_ratio is not None:
                stream.codec_context.sample_aspect_ratio = source.sample_aspect_ratio
            if source is not None and carry:
                self.carrier = SourceCarrier(source, self._container, stream, audio=audio,
                                             subtitles=subtitles)
        except BaseException:
            self.abort()
            raise

    # ------------------------------------------------------------------ set-up
    def _choose_codec(self, codec: Optional[str]) -> str:
        supported = self._container.supported_codecs
        fmt = self._container.format.name
        if codec is None:
            if 'libx264' in supported:
                return 'libx264'
            codec = self._container.default_video_codec
            if codec == 'h264':
                codec = 'libx264'
        try:
            found = av.Codec(codec, 'w')
        except av.codec.codec.UnknownCodecError:
            raise InferenceError(f"unknown video codec '{codec}' (no such encoder in this "
                                 'FFmpeg build; try libx264, libx265, libvpx-vp9 or mpeg4)')
        if found.type != 'video':
            raise InferenceError(f"codec '{codec}' is a {found.type} codec, not a video codec")
        if codec not in supported and found.name not in supported:
            raise InferenceError(f"codec '{codec}' cannot be stored in a '{self.path.suffix}' "
                                 f'({fmt}) file')
        return codec

    def _check_pix_fmt(self, codec: str, pix_fmt: str, width: int, height: int) -> None:
        formats = av.Codec(codec, 'w').video_formats or []
        names = [f.name for f in formats]
        if names and pix_fmt not in names:
            raise InferenceError(f"pix_fmt '{pix_fmt}' is not taken by codec '{codec}' "
                                 f"(it takes: {', '.join(names)})", param='pix_fmt')
        if ('420' in pix_fmt or pix_fmt in ('nv12', 'nv21')) and (width % 2 or height % 2):
            raise InferenceError(f"pix_fmt '{pix_fmt}' needs an even frame size, "
                                 f'got {width}x{height}', param='pix_fmt')

    def _set_colour(self, stream, width: int, height: int) -> None:
        """Choose the matrix and range of the encoding and write the colour tags."""
        spec = output_colour(self.source, width, height)
        self._rgb_output = av.VideoFormat(self.pix_fmt).is_rgb
        if self._rgb_output:
            spec = replace(spec, matrix=RGB_MATRIX, full_range=True)
        elif self.pix_fmt.startswith('yuvj'):
            spec = replace(spec, full_range=True)
        self.colour = spec
        ctx = stream.codec_context
        ctx.colorspace = spec.matrix
        ctx.color_range = spec.color_range
        ctx.color_primaries = spec.primaries
        ctx.color_trc = spec.transfer

    # ------------------------------------------------------------------ frames
    def _output_pts(self, pts: Optional[int]) -> int:
        """The output timestamp of a frame whose source timestamp is ``pts``."""
        if self.time_base is None or pts is None and self._last_pts is None:
            if self.time_base is not None:  # untimed frames: fall back on a constant rate
                self.time_base = None
                self._stream.codec_context.time_base = 1 / self.fps
            return self.frames_written
        step = max(1, int(round(1 / (self.fps * self.time_base))))
        if pts is None:  # an untimed frame inside a timed stream: one frame after the last
            return self._last_pts + step
        if self._shift is None:
            self._shift = 0 if self.time_origin is None else pts - self.time_origin
        out = pts - self._shift
        if self._last_pts is not None and out <= self._last_pts:
            out = self._last_pts + 1  # keep timestamps increasing (a broken source)
        return out

    @property
    def uncarried(self) -> List[str]:
        """What of the source the output does not carry, for the user."""
        return (self.carrier.uncarried if self.carrier is not None else []) + self.notes

    def _start_carrier(self, pts: Optional[int]) -> None:
        """Fix the source time that becomes the output's start, at the first frame."""
        source_tb = self.source.time_base if self.source is not None else None
        if self.time_base is not None and self._shift is not None:
            start = float(self._shift * self.time_base)
        elif pts is not None and source_tb is not None:  # constant rate: the first frame is 0
            start = float(pts * source_tb)
        else:
            start = 0.0
        self._first_source_time = start
        if self.carrier is not None:
            self.carrier.start(start)

    def write(self, image: np.ndarray, name: Optional[str] = None,
              pts: Optional[int] = None) -> None:
        """Encode one frame.

        Args:
            image (np.ndarray): ``(H, W, 3)`` RGB, uint8 or uint16 (see :attr:`bit_depth`).
            name (str, optional): Ignored (frame names are for folder outputs).
            pts (int, optional): The frame's source timestamp (in ``time_base``).
        """
        fmt = 'rgb48le' if image.dtype == np.uint16 else 'rgb24'
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        colour = self.colour
        if self._rgb_output:
            frame = frame.reformat(format=self.pix_fmt)
        else:
            frame = frame.reformat(format=self.pix_fmt, dst_colorspace=colour.sws_matrix,
                                   dst_color_range=colour.sws_range,
                                   interpolation=conversion_flags(self.bit_depth))
        frame.colorspace = colour.matrix
        frame.color_range = colour.color_range
        frame.color_primaries = colour.primaries
        frame.color_trc = colour.transfer
        out_pts = self._output_pts(pts)
        if self.frames_written == 0:
            self.first_source_pts = pts
            self._start_carrier(pts)
        frame.pts = out_pts
        frame.time_base = self._stream.codec_context.time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._last_pts = out_pts
        self._last_source_pts = pts
        self.frames_written += 1
        reached = float(out_pts * frame.time_base) + 1 / float(self.fps) \
            if self.time_base is not None else self.frames_written / float(self.fps)
        if self.carrier is not None:
            self.carrier.mux_until(reached)

    def _finish(self) -> None:
        if not self.frames_written:
            raise InferenceError(f"no frame was written to '{self.path}'")
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        end = None
        if self.trim_end:
            end = self._first_source_time + self.frames_written / float(self.fps) \
                if self.time_base is None else \
                float((self._last_pts + self._shift) * self.time_base) + 1 / float(self.fps)
        if self.carrier is not None:
            self.carrier.finish(end)
        self._container.close()
        self._container = None
        self._check_written()

    def _check_written(self) -> None:
        """Note the colour tags and rotation that the written file lost (codec or container)."""
        try:
            with av.open(str(self.output.temp_path)) as written:
                frame = next(written.decode(video=0), None)
        except av.error.FFmpegError:
            return
        if frame is None:
            return
        fmt = self._container_format
        want = self.colour
        got = (frame.colorspace, frame.color_primaries, frame.color_trc)
        if got != (want.matrix, want.primaries, want.transfer) and not self._rgb_output \
                and self.source is not None:  # (images have no tags to lose)
            self.notes.append(f'colour tags (not stored by {self.codec} in {fmt} files)')
        if self.carrier is not None:
            self.carrier.check_rotation(frame)

    def _release(self) -> None:
        if self.carrier is not None:
            self.carrier.close()
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001  (closing a broken file; it is deleted next)
                pass
            self._container = None

    @property
    def audio_mode(self) -> Optional[str]:
        """``'copy'``, ``'transcode'`` or ``None``: how the source's (first) audio was carried."""
        return self.carrier.audio_mode if self.carrier is not None else None
