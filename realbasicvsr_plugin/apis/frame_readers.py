"""Frame sources for streaming inference: a video file, a folder of images, or one image.

Every reader yields :class:`Frame` objects one at a time, so a caller holds only the frames it
keeps. Problems the user can fix (a missing file, a corrupt or truncated video, no frames, frames
of mixed sizes, an unreadable image) raise :class:`~realbasicvsr_plugin.apis.errors.InferenceError`
with a one-line message naming the file.
"""
import os
import re
from abc import ABCMeta, abstractmethod
from fractions import Fraction
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Tuple, Union

import av
import cv2
import numpy as np

from .errors import InferenceError
from .video_metadata import VideoProperties, conversion_flags, probe_video

#: File extensions read as images (lower case).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm')

#: libav log messages that mean a video ended before its container said it would.
_TRUNCATION_HINTS = ('prematurely', 'truncat', 'partial file', 'incomplete')


class Frame(NamedTuple):
    """One decoded frame.

    Attributes:
        index (int): Position of the frame in the source (0-based, before any range is applied).
        name (str): A file stem for the frame when it is written as an image.
        image (np.ndarray): ``(H, W, 3)`` RGB pixels, uint8, or uint16 for sources of more
            than 8 bits (see :attr:`FrameReader.bit_depth`); ``None`` only inside a reader, for
            frames before the requested range, which are decoded but not converted.
        pts (int, optional): Presentation timestamp in the reader's
            :attr:`~VideoFileReader.time_base` (None for images and untimed frames).
    """
    index: int
    name: str
    image: np.ndarray
    pts: Optional[int] = None


def _natural_key(path: Path) -> List[Union[int, str]]:
    """Sort key that orders ``frame2`` before ``frame10``."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r'(\d+)', path.name)]


def _check_range(start: int, end: Optional[int]) -> None:
    if start < 0:
        raise InferenceError(f'frame range: start must be >= 0, got {start}')
    if end is not None and end <= start:
        raise InferenceError(f'frame range: end ({end}) must be greater than start ({start})')


class FrameReader(metaclass=ABCMeta):
    """Base class of the frame sources.

    Args:
        path (str | Path): The source.
        start (int): Index of the first frame to yield. Defaults to 0.
        end (int, optional): Index one past the last frame to yield; ``None`` reads to the end.
    """

    def __init__(self, path: Union[str, Path], start: int = 0, end: Optional[int] = None) -> None:
        _check_range(start, end)
        self.path = Path(path)
        self.start = start
        self.end = end

    @property
    @abstractmethod
    def fps(self) -> Optional[Fraction]:
        """Frame rate of the source, or ``None`` when it has none (images)."""

    @property
    @abstractmethod
    def size(self) -> Tuple[int, int]:
        """``(width, height)`` of the frames."""

    @property
    @abstractmethod
    def total_frames(self) -> Optional[int]:
        """Number of frames in the whole source if known (an estimate for some videos)."""

    @property
    def bit_depth(self) -> int:
        """Bits per channel of the frames yielded: 8 (uint8) or 16 (uint16)."""
        return 8

    @property
    def num_frames(self) -> Optional[int]:
        """Number of frames this reader will yield, if known (for progress bars)."""
        total = self.total_frames
        if total is None:
            return None
        stop = total if self.end is None else min(total, self.end)
        return max(stop - self.start, 0)

    @abstractmethod
    def _frames(self) -> Iterator[Frame]:
        """Yield all frames of the source in order."""

    def __iter__(self) -> Iterator[Frame]:
        count = 0
        last_index = -1
        first_size = None
        frames = self._frames()
        try:
            for frame in frames:
                last_index = frame.index
                if frame.index < self.start:
                    continue
                if self.end is not None and frame.index >= self.end:
                    break
                _check_frame_size(self.path, frame, first_size)
                first_size = first_size or frame.image.shape[:2]
                count += 1
                yield frame
        finally:
            frames.close()  # stop decoding now, not when the generator is collected
        if count == 0:
            if last_index < 0:
                raise InferenceError(f"no frames could be decoded from '{self.path}'")
            raise InferenceError(
                f"frame range starts at {self.start} but '{self.path}' has only "
                f'{last_index + 1} frames')

    def close(self) -> None:
        """Release the source (a no-op for image readers)."""

    def __enter__(self) -> 'FrameReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoFileReader(FrameReader):
    """Decode a video file frame by frame with PyAV.

    Frames are converted to RGB with the source's own colour matrix and range (see
    :mod:`~realbasicvsr_plugin.apis.video_metadata`), at 16 bits per channel for sources of more
    than 8 bits, and carry their presentation timestamps.

    Args:
        path (str | Path): The video file: anything FFmpeg (as built into PyAV) can demux.
        start (int): Index of the first frame to yield. Defaults to 0.
        end (int, optional): Index one past the last frame to yield.
    """

    def __init__(self, path: Union[str, Path], start: int = 0, end: Optional[int] = None) -> None:
        super().__init__(path, start, end)
        try:
            self._container = av.open(str(self.path))
        except av.error.FFmpegError as err:
            raise InferenceError(f"cannot open '{self.path}' as a video (corrupt, truncated or "
                                 f'not a video): {_ffmpeg_reason(err)}') from err
        if not self._container.streams.video:
            self._container.close()
            raise InferenceError(f"'{self.path}' has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = 'AUTO'
        ctx = self._stream.codec_context
        if not ctx.width or not ctx.height:
            self._container.close()
            raise InferenceError(f"'{self.path}': the video stream has no frame size "
                                 '(corrupt header or unsupported codec)')
        self.properties = self._probe()

    def _probe(self) -> VideoProperties:
        """Colour, bit depth, rotation, timing and metadata, from a first look at the file."""
        first = None
        previous_level = av.logging.get_level()
        av.logging.set_level(av.logging.ERROR)
        try:
            with av.open(str(self.path)) as probe:
                stream = probe.streams.video[0]
                try:
                    first = next(probe.decode(stream), None)
                except av.error.FFmpegError:
                    first = None  # reported with its frame count when decoding for real
                # (the stream tags are then the only colour information)
                return probe_video(probe, stream, first)
        except av.error.FFmpegError:
            return probe_video(self._container, self._stream, None)
        finally:
            av.logging.set_level(previous_level)

    @property
    def fps(self) -> Optional[Fraction]:
        rate = self._stream.average_rate or self._stream.guessed_rate or self._stream.base_rate
        return Fraction(rate) if rate else None

    @property
    def size(self) -> Tuple[int, int]:
        return self._stream.codec_context.width, self._stream.codec_context.height

    @property
    def bit_depth(self) -> int:
        return 16 if self.properties.bit_depth > 8 else 8

    @property
    def time_base(self) -> Optional[Fraction]:
        """Time base of the frames' :attr:`Frame.pts` (the video stream's)."""
        return self.properties.time_base

    @property
    def total_frames(self) -> Optional[int]:
        if self._stream.frames:
            return int(self._stream.frames)
        duration = self._container.duration  # microseconds
        if duration and self.fps:
            return int(round(duration / 1e6 * float(self.fps)))
        return None

    def _to_rgb(self, av_frame) -> np.ndarray:
        """The frame as RGB, converted with the source's matrix and range."""
        colour = self.properties.colour
        options = dict(format=self.properties.decode_format,
                       interpolation=conversion_flags(self.properties.bit_depth))
        if colour.sws_matrix is not None:
            options.update(src_colorspace=colour.sws_matrix, src_color_range=colour.sws_range)
        return av_frame.reformat(**options).to_ndarray()

    def _frames(self) -> Iterator[Frame]:
        index = 0
        previous_level = av.logging.get_level()
        av.logging.set_level(av.logging.ERROR)
        try:
            with av.logging.Capture() as logs:
                try:
                    for av_frame in self._container.decode(self._stream):
                        # frames before the range are decoded (exact seeking) but not converted
                        image = self._to_rgb(av_frame) if index >= self.start else None
                        yield Frame(index, f'{index:08d}', image, av_frame.pts)
                        index += 1
                except av.error.FFmpegError as err:
                    raise InferenceError(
                        f"'{self.path}' is corrupt or truncated: decoding failed after "
                        f'{index} frames ({_ffmpeg_reason(err)})') from err
            for _level, _source, message in logs:
                if any(hint in message.lower() for hint in _TRUNCATION_HINTS):
                    raise InferenceError(
                        f"'{self.path}' is truncated: decoding stopped after {index} frames "
                        f'({message.strip()})')
        finally:
            av.logging.set_level(previous_level)

    def close(self) -> None:
        self._container.close()


def _check_frame_size(source: Path, frame: Frame, first_size: Optional[Tuple[int, int]]) -> None:
    """Raise if ``frame`` differs in size from the first frame of the sequence."""
    if first_size is not None and frame.image.shape[:2] != first_size:
        h, w = frame.image.shape[:2]
        raise InferenceError(
            f"frames of mixed sizes in '{source}': frame {frame.index} is {w}x{h} but the first "
            f'frame is {first_size[1]}x{first_size[0]}')


def _ffmpeg_reason(err: Exception) -> str:
    """The readable part of a PyAV error (without errno and file name)."""
    reason = getattr(err, 'strerror', None) or str(err)
    return str(reason).strip()


class _ImageListReader(FrameReader):
    """Frames from a list of image files, all of one size (checked before any is decoded)."""

    def __init__(self, path: Union[str, Path], files: List[Path], start: int = 0,
                 end: Optional[int] = None) -> None:
        super().__init__(path, start, end)
        self.files = files
        self._unique_stems = True
        self._size = self._check_sizes(files[start:end])
        self._bit_depth = image_bit_depth(files[start]) if start < len(files) else 8

    def _name(self, index: int) -> str:
        return self.files[index].stem

    @staticmethod
    def _check_sizes(files: List[Path]) -> Tuple[int, int]:
        """Read each image's header (not its pixels) and insist on one frame size."""
        from PIL import Image, UnidentifiedImageError

        size = None
        first = None
        for file in files:
            try:
                with Image.open(file) as img:
                    this = img.size
            except (UnidentifiedImageError, OSError) as err:
                raise InferenceError(f"'{file}' is not a readable image ({err})") from err
            if size is None:
                size, first = this, file
            elif this != size:
                raise InferenceError(
                    f"frames of mixed sizes: '{file.name}' is {this[0]}x{this[1]} but "
                    f"'{first.name}' is {size[0]}x{size[1]}")
        return size if size is not None else (0, 0)

    @property
    def fps(self) -> Optional[Fraction]:
        return None

    @property
    def size(self) -> Tuple[int, int]:
        return self._size

    @property
    def bit_depth(self) -> int:
        """16 when the first frame read is a 16-bit image (the others are converted to it)."""
        return self._bit_depth

    @property
    def total_frames(self) -> Optional[int]:
        return len(self.files)

    def _frames(self) -> Iterator[Frame]:
        for index, file in enumerate(self.files):
            yield Frame(index, self._name(index), read_image(file, self._bit_depth))

    def __iter__(self) -> Iterator[Frame]:
        # The file list is known: jump to the range instead of decoding the skipped frames.
        if self.start >= len(self.files):
            raise InferenceError(f"frame range starts at {self.start} but '{self.path}' has "
                                 f'only {len(self.files)} frames')
        stop = len(self.files) if self.end is None else min(self.end, len(self.files))
        first_size = None
        for index in range(self.start, stop):
            file = self.files[index]
            frame = Frame(index, self._name(index), read_image(file, self._bit_depth))
            _check_frame_size(file, frame, first_size)
            first_size = first_size or frame.image.shape[:2]
            yield frame


def _decode_image(file: Path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` RGB in its own depth (grey expanded, alpha dropped)."""
    image = cv2.imread(str(file), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)  # BGR, 8 or 16 bits
    if image is None:
        raise InferenceError(f"'{file}' is not a readable image")
    if image.dtype.kind == 'f':  # float TIFF/EXR: [0, 1] by convention
        image = (np.clip(image, 0, 1) * 65535.0 + 0.5).astype(np.uint16)
    elif image.dtype not in (np.uint8, np.uint16):
        raise InferenceError(f"'{file}': {image.dtype} pixels are not supported (8- or 16-bit "
                             'images only)')
    return np.ascontiguousarray(image[..., ::-1])


def image_bit_depth(file: Path) -> int:
    """8 or 16: the depth :func:`read_image` keeps for ``file`` (16 for 16-bit and float images).

    Args:
        file (Path): The image file.

    Returns:
        int: The bit depth.
    """
    return 8 if _decode_image(file).dtype == np.uint8 else 16


def read_image(file: Path, bit_depth: int = 8) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` RGB (grey is expanded, alpha dropped).

    Args:
        file (Path): The image file.
        bit_depth (int): 8 for uint8 pixels, 16 for uint16 (an image of the other depth is
            converted with :func:`to_bit_depth`). Defaults to 8.

    Returns:
        np.ndarray: The pixels.
    """
    return to_bit_depth(_decode_image(file), bit_depth)


def to_bit_depth(image: np.ndarray, bit_depth: int) -> np.ndarray:
    """RGB pixels in uint8 (``bit_depth`` 8) or uint16 (16): x257, or /257 rounded.

    Args:
        image (np.ndarray): uint8 or uint16 pixels.
        bit_depth (int): 8 or 16.

    Returns:
        np.ndarray: The pixels (``image`` itself when it has that depth already).
    """
    if bit_depth == 16 and image.dtype == np.uint8:
        return image.astype(np.uint16) * 257
    if bit_depth == 8 and image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return image


class ImageFolderReader(_ImageListReader):
    """Frames from the image files of a folder, in natural file-name order.

    Args:
        path (str | Path): The folder. Files whose extension is not in :data:`IMAGE_EXTENSIONS`
            are ignored.
        start (int): Index of the first frame to yield. Defaults to 0.
        end (int, optional): Index one past the last frame to yield.
    """

    def __init__(self, path: Union[str, Path], start: int = 0, end: Optional[int] = None) -> None:
        path = Path(path)
        files = sorted((p for p in path.iterdir()
                        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS), key=_natural_key)
        if not files:
            raise InferenceError(f"folder '{path}' contains no image files "
                                 f"({', '.join(IMAGE_EXTENSIONS)})")
        super().__init__(path, files, start, end)
        # 'a.png' and 'a.jpg' would both be written as 'a.png': number the frames instead
        self._unique_stems = len({f.stem for f in files}) == len(files)

    def _name(self, index: int) -> str:
        return self.files[index].stem if self._unique_stems else f'{index:08d}'


class SingleImageReader(_ImageListReader):
    """One image as a one-frame sequence.

    Args:
        path (str | Path): The image file.
        start (int): Must be 0 (kept for a uniform interface). Defaults to 0.
        end (int, optional): Ignored beyond validation.
    """

    def __init__(self, path: Union[str, Path], start: int = 0, end: Optional[int] = None) -> None:
        super().__init__(path, [Path(path)], start, end)


def open_frame_reader(path: Union[str, Path], start: int = 0,
                      end: Optional[int] = None) -> FrameReader:
    """Open the right reader for ``path``: a folder, an image file or a video file.

    Args:
        path (str | Path): Input video, folder of frames or image.
        start (int): Index of the first frame to read. Defaults to 0.
        end (int, optional): Index one past the last frame to read; ``None`` reads to the end.

    Returns:
        FrameReader: An iterable of :class:`Frame`.
    """
    path = Path(path)
    if not path.exists():
        raise InferenceError(f"input not found: '{path}'")
    try:  # unreadable (permissions) is not corrupt: say so before a decoder guesses
        if path.is_dir():
            os.scandir(path).close()
        else:
            open(path, 'rb').close()
    except OSError as err:
        raise InferenceError(f"cannot read input '{path}': {err.strerror or err}") from err
    if path.is_dir():
        return ImageFolderReader(path, start, end)
    if path.stat().st_size == 0:
        raise InferenceError(f"input '{path}' is an empty file")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return SingleImageReader(path, start, end)
    return VideoFileReader(path, start, end)
