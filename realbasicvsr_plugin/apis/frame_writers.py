"""Frame sinks for streaming inference: a video file, a folder of PNG frames, or one image.

Each writer encodes frames as they come and writes to a temporary path beside the output (see
:class:`~realbasicvsr_plugin.apis.atomic_output.AtomicOutput`); :meth:`FrameWriter.close` moves
the finished result into place, :meth:`FrameWriter.abort` (also called when the ``with`` block
raises, Ctrl-C included) removes it.
"""
import re
from abc import ABCMeta, abstractmethod
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Optional, Tuple, Union

import cv2
import numpy as np

from .atomic_output import AtomicOutput, FrameFileTest
from .audio_track import AudioTrackCopier
from .errors import InferenceError
from .frame_readers import IMAGE_EXTENSIONS

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
            raise InferenceError(f"--bitrate: cannot read '{text}' (examples: 4M, 800k, 2500000)")
        scale = {'': 1, 'k': 10**3, 'm': 10**6, 'g': 10**9}[match.group(2).lower()]
        value = int(float(match.group(1)) * scale)
    if value <= 0:
        raise InferenceError(f'--bitrate must be positive, got {text}')
    return value


class FrameWriter(metaclass=ABCMeta):
    """Base class of the frame sinks.

    Args:
        path (str | Path): Final output path.
        overwrite (bool): Allow replacing an existing output. Defaults to False.
        inputs (Iterable[str | Path]): Input paths that must not be written over.
    """

    is_dir = False

    def __init__(self, path: Union[str, Path], overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = (),
                 frame_files: Optional[FrameFileTest] = None) -> None:
        self.path = Path(path)
        self.output = AtomicOutput(self.path, self.is_dir, overwrite=overwrite, inputs=inputs,
                                   frame_files=frame_files)
        self.frames_written = 0

    @abstractmethod
    def write(self, image: np.ndarray, name: Optional[str] = None) -> None:
        """Write one frame.

        Args:
            image (np.ndarray): ``(H, W, 3)`` uint8 RGB.
            name (str, optional): File stem for the frame (folder output only).
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


class PngFolderWriter(FrameWriter):
    """Write frames as PNG files into a folder.

    Args:
        path (str | Path): Output folder.
        overwrite (bool): Replace an existing folder (only once the new one is complete).
        inputs (Iterable[str | Path]): Input paths that must not be written over.
        compression (int): PNG compression level, 0-9. Defaults to 3.
        frame_files (FrameFileTest, optional): The names of the frame files this run writes;
            ``overwrite`` replaces an existing folder only if it holds nothing else (see
            :class:`AtomicOutput`).
    """

    is_dir = True

    def __init__(self, path: Union[str, Path], overwrite: bool = False,
                 inputs: Iterable[Union[str, Path]] = (), compression: int = 3,
                 frame_files: Optional[FrameFileTest] = None) -> None:
        if not 0 <= compression <= 9:
            raise InferenceError(f'PNG compression must be in 0..9, got {compression}')
        super().__init__(path, overwrite, inputs, frame_files)
        self.compression = compression

    def write(self, image: np.ndarray, name: Optional[str] = None) -> None:
        name = name if name is not None else f'{self.frames_written:08d}'
        file = self.output.temp_path / f'{name}.png'
        ok, data = cv2.imencode('.png', np.ascontiguousarray(image[..., ::-1]),
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
    """

    def write(self, image: np.ndarray, name: Optional[str] = None) -> None:
        if self.frames_written:
            raise InferenceError(f"output '{self.path}' is a single image but the input has "
                                 'more than one frame; give a folder or a video path')
        ok = cv2.imwrite(str(self.output.temp_path), np.ascontiguousarray(image[..., ::-1]))
        if not ok:
            raise InferenceError(f"could not write image '{self.path}'")
        self.frames_written += 1

    def _finish(self) -> None:
        if not self.frames_written:
            raise InferenceError(f"no frame was written to '{self.path}'")


class VideoFileWriter(FrameWriter):
    """Encode frames into a video file with PyAV, carrying over the source's audio.

    Args:
        path (str | Path): Output video; the container format follows the extension.
        size (tuple[int, int]): ``(width, height)`` of the frames.
        fps (Fraction | float): Frame rate.
        codec (str, optional): Encoder name (``libx264``, ``libx265``, ``libvpx-vp9``,
            ``mpeg4``, ...). ``None`` picks H.264 where the container allows it, else the
            container's default.
        crf (int, optional): Constant rate factor for encoders in :data:`CRF_CODECS`
            (lower is better; 18 is visually lossless for x264). ``None`` uses 18 for such
            encoders unless ``bitrate`` is given.
        bitrate (str | int, optional): Target bit rate, e.g. ``'4M'``.
        pix_fmt (str): Pixel format of the encoded video. Defaults to ``'yuv420p'``.
        audio_source (str | Path, optional): Video whose first audio stream is carried over.
        audio_start (float): Source time (seconds) of the first written frame. Defaults to 0.
        audio_end (float, optional): Source time after which audio is dropped.
        overwrite (bool): Replace an existing file.
        inputs (Iterable[str | Path]): Input paths that must not be written over.
    """

    def __init__(self, path: Union[str, Path], size: Tuple[int, int],
                 fps: Union[Fraction, float], codec: Optional[str] = None,
                 crf: Optional[int] = None, bitrate: Union[str, int, None] = None,
                 pix_fmt: str = 'yuv420p', audio_source: Union[str, Path, None] = None,
                 audio_start: float = 0.0, audio_end: Optional[float] = None,
                 overwrite: bool = False, inputs: Iterable[Union[str, Path]] = ()) -> None:
        import av

        self._av = av
        fps = Fraction(fps).limit_denominator(1001000) if fps else None
        if not fps or fps <= 0:
            raise InferenceError(f'--fps must be positive, got {fps}')
        bit_rate = parse_bitrate(bitrate)
        if crf is not None and bit_rate is not None:
            raise InferenceError('give either --crf or --bitrate, not both')
        width, height = size
        self._container = None
        self._audio = None
        super().__init__(path, overwrite, inputs)
        try:
            try:
                self._container = av.open(str(self.output.temp_path), 'w')
            except ValueError as err:  # av cannot tell the format from the extension
                raise InferenceError(
                    f"cannot tell a video format from the extension '{self.path.suffix}' of "
                    f"'{self.path}' (use .mp4, .mkv, .mov, .avi or .webm; no extension or an "
                    'existing folder writes PNG frames)') from err
            codec = self._choose_codec(codec)
            self._check_pix_fmt(codec, pix_fmt, width, height)
            options = {}
            if codec in CRF_CODECS and bit_rate is None:
                crf = 18 if crf is None else crf
                if not 0 <= crf <= 63:
                    raise InferenceError(f'--crf must be in 0..63, got {crf}')
                options['crf'] = str(crf)
                if codec in ('libvpx', 'libvpx-vp9'):
                    options['b'] = '0'  # constant-quality mode
            elif crf is not None:
                raise InferenceError(f"--crf is not supported by codec '{codec}' "
                                     f"(supported: {', '.join(CRF_CODECS)}); use --bitrate")
            stream = self._container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            if bit_rate is not None:
                stream.bit_rate = bit_rate
            stream.options = options
            stream.thread_type = 'AUTO'
            self._stream = stream
            self.fps = fps
            self.codec = codec
            if audio_source is not None:
                self._audio = AudioTrackCopier(audio_source, self._container, start=audio_start,
                                               end=audio_end)
        except BaseException:
            self.abort()
            raise

    def _choose_codec(self, codec: Optional[str]) -> str:
        av = self._av
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
        formats = self._av.Codec(codec, 'w').video_formats or []
        names = [f.name for f in formats]
        if names and pix_fmt not in names:
            raise InferenceError(f"codec '{codec}' does not take pixel format '{pix_fmt}' "
                                 f"(it takes: {', '.join(names)})")
        if ('420' in pix_fmt or pix_fmt in ('nv12', 'nv21')) and (width % 2 or height % 2):
            raise InferenceError(f"pixel format '{pix_fmt}' needs an even frame size, "
                                 f'got {width}x{height}')

    def write(self, image: np.ndarray, name: Optional[str] = None) -> None:
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
        frame.pts = self.frames_written
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1
        if self._audio is not None:
            self._audio.mux_until(self.frames_written / self.fps)

    def _finish(self) -> None:
        if not self.frames_written:
            raise InferenceError(f"no frame was written to '{self.path}'")
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        if self._audio is not None:
            self._audio.finish()
        self._container.close()
        self._container = None

    def _release(self) -> None:
        if self._audio is not None:
            self._audio.close()
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001  (closing a broken file; it is deleted next)
                pass
            self._container = None

    @property
    def audio_mode(self) -> Optional[str]:
        """``'copy'``, ``'transcode'`` or ``None``: how the source's audio was carried."""
        return None if self._audio is None else self._audio.mode
