"""What a video carries besides its pixels: colour, timing, bit depth, rotation and metadata.

:func:`probe_video` reads it from a source (its stream tags and its first decoded frame);
:class:`~.frame_readers.VideoFileReader` decodes with it and
:class:`~.frame_writers.VideoFileWriter` writes it back into the restored video.

Colour follows what players do:

* a YUV source is converted to RGB with its own matrix (BT.601, BT.709, BT.2020, SMPTE 240M,
  FCC) and range (limited or full), and the output is encoded back with the same matrix and
  range and tagged with them and with the source's primaries and transfer;
* an untagged source (or one whose tags are malformed or unsupported: one warning) is taken as
  BT.601 when it is SD and BT.709 when it is HD (wider than 1279 or taller than 576 pixels),
  limited range (full for ``yuvj*`` formats), and the output is tagged with what was assumed.
  The x4 output of an SD source is HD in size, but it is encoded with the source's BT.601 matrix
  and tagged BT.601 explicitly, so a player never falls back on its HD guess (BT.709) for it;
* an RGB source (an RGB codec, or frames from images) has no matrix to keep: a YUV output is
  encoded with the convention for the *output* size (BT.709 for HD) and tagged so.

Rotation is the display matrix of the first frame: a quarter turn, possibly mirrored, is carried
over; anything else (a shear, a scale, 45 degrees) is malformed for a video and dropped with one
warning, the frames then being written as they are coded.
"""
import math
import struct
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import av
from av.sidedata.sidedata import Type as SideDataType
from av.video.reformatter import Interpolation

def conversion_flags(bit_depth: int) -> Interpolation:
    """swscale flags for a YUV <-> RGB conversion of samples of ``bit_depth`` bits.

    Accurate rounding always; full-resolution chroma interpolation too at 8 bits (PyAV's default,
    plain bilinear, is up to 3 levels off on flat colours; these flags keep it within 1-2). At
    high bit depths full-chroma interpolation is left out: swscale's 4:2:0 path with it is
    broken there (flat colours come out hundreds of levels off).

    Args:
        bit_depth (int): Bits per sample of the YUV side.

    Returns:
        Interpolation: The flags for ``VideoFrame.reformat``.
    """
    flags = Interpolation.BILINEAR | Interpolation.ACCURATE_RND
    return flags | Interpolation.FULL_CHR_H_INT if bit_depth <= 8 else flags


# FFmpeg's AVColorSpace values (the matrix tag) that swscale converts, and swscale's name for each
_SWS_MATRIX = {1: 'ITU709', 4: 'FCC', 5: 'ITU601', 6: 'ITU601', 7: 'SMPTE240M', 9: 'BT2020'}
MATRIX_NAMES = {0: 'RGB', 1: 'BT.709', 2: 'unspecified', 3: 'reserved', 4: 'FCC',
                5: 'BT.601 (BT.470BG)', 6: 'BT.601 (SMPTE 170M)', 7: 'SMPTE 240M', 8: 'YCgCo',
                9: 'BT.2020', 10: 'BT.2020 constant luminance', 11: 'SMPTE 2085',
                12: 'chroma-derived NCL', 13: 'chroma-derived CL', 14: 'ICtCp', 15: 'IPT-C2',
                16: 'YCgCo-Re', 17: 'YCgCo-Ro'}
UNSPECIFIED = 2
RGB_MATRIX = 0
# primaries and transfer that go with a matrix when only the matrix is known
_MATRIX_DEFAULTS = {1: (1, 1), 4: (4, 4), 5: (5, 6), 6: (6, 6), 7: (7, 7), 9: (9, 14)}
# the matrix that goes with tagged primaries when the matrix is not tagged
_PRIMARIES_MATRIX = {1: 1, 4: 4, 5: 5, 6: 6, 7: 7, 9: 9}

#: FFmpeg's ``AVDISCARD_ALL``: the demuxer gives no packet of such a stream (MP4's chapter text
#: track is read as the container's chapters and marked so).
AVDISCARD_ALL = 48

#: Frame side data that the writer does not carry over (reported when the source has it).
UNCARRIED_SIDE_DATA = {
    SideDataType.MASTERING_DISPLAY_METADATA: 'HDR mastering-display metadata',
    SideDataType.CONTENT_LIGHT_LEVEL: 'HDR content light level',
    SideDataType.DYNAMIC_HDR_PLUS: 'HDR10+ metadata',
    SideDataType.DOVI_METADATA: 'Dolby Vision metadata',
    SideDataType.A53_CC: 'closed captions',
    SideDataType.ICC_PROFILE: 'ICC profile',
    SideDataType.STEREO3D: 'stereo 3D layout',
    SideDataType.SPHERICAL: 'spherical (360) mapping',
}

# container and stream metadata that the muxer writes itself or that would be wrong for the
# restored video (statistics of the source's stream)
_MANAGED_TAGS = {'encoder', 'major_brand', 'minor_version', 'compatible_brands', 'duration',
                 'handler_name', 'vendor_id', 'bps', 'number_of_frames', 'number_of_bytes'}


def is_hd(width: int, height: int) -> bool:
    """Whether players take a frame of this size for HD (and so an untagged one for BT.709).

    Args:
        width (int): Frame width.
        height (int): Frame height.

    Returns:
        bool: True for HD.
    """
    return width >= 1280 or height > 576


@dataclass(frozen=True)
class ColourSpec:
    """How RGB relates to the coded samples, as FFmpeg tags it.

    Attributes:
        matrix (int): FFmpeg ``AVColorSpace`` value (1 BT.709, 5/6 BT.601, 9 BT.2020,
            0 RGB, ...).
        full_range (bool): Full (JPEG) rather than limited (MPEG, 16-235) range.
        primaries (int): ``AVColorPrimaries`` value.
        transfer (int): ``AVColorTransferCharacteristic`` value.
        assumed (bool): Whether some of it was assumed (an untagged or malformed source).
    """
    matrix: int
    full_range: bool
    primaries: int
    transfer: int
    assumed: bool = False

    @property
    def sws_matrix(self) -> Optional[str]:
        """swscale's name of the matrix (None for RGB)."""
        return _SWS_MATRIX.get(self.matrix)

    @property
    def sws_range(self) -> str:
        """swscale's name of the range."""
        return 'JPEG' if self.full_range else 'MPEG'

    @property
    def color_range(self) -> int:
        """FFmpeg's ``AVColorRange`` value (1 limited, 2 full)."""
        return 2 if self.full_range else 1

    def describe(self) -> str:
        """A short description, e.g. ``'BT.709, limited range'``."""
        rng = 'full range' if self.full_range else 'limited range'
        return f'{MATRIX_NAMES.get(self.matrix, self.matrix)}, {rng}'


def conventional_colour(width: int, height: int, full_range: bool = False) -> ColourSpec:
    """The colour players assume for an untagged YUV video of this size.

    Args:
        width (int): Frame width.
        height (int): Frame height.
        full_range (bool): Full range (a ``yuvj*`` format). Defaults to False.

    Returns:
        ColourSpec: BT.709 for HD; BT.601 for SD (BT.470BG primaries for 576/288-line PAL
        sizes, SMPTE 170M otherwise).
    """
    if is_hd(width, height):
        matrix = 1
    else:
        matrix = 5 if height in (576, 288) else 6
    primaries, transfer = _MATRIX_DEFAULTS[matrix]
    return ColourSpec(matrix, full_range, primaries, transfer, assumed=True)


def source_colour(matrix: int, color_range: int, primaries: int, transfer: int, pix_fmt: str,
                  width: int, height: int, source: str = 'the source'
                  ) -> Tuple[ColourSpec, Optional[str]]:
    """The colour of a source from its tags, falling back on the convention where they are
    missing or malformed.

    Args:
        matrix (int): Tagged ``AVColorSpace``.
        color_range (int): Tagged ``AVColorRange`` (0 unspecified, 1 limited, 2 full).
        primaries (int): Tagged ``AVColorPrimaries``.
        transfer (int): Tagged ``AVColorTransferCharacteristic``.
        pix_fmt (str): The decoded pixel format.
        width (int): Frame width.
        height (int): Frame height.
        source (str): How to name the source in a warning.

    Returns:
        tuple[ColourSpec, str | None]: The colour, and a one-line warning when a tag was
        malformed or unsupported.
    """
    warnings = []
    try:
        fmt = av.VideoFormat(pix_fmt)
        is_rgb = fmt.is_rgb
    except (ValueError, TypeError):
        is_rgb = False
    full = pix_fmt.startswith('yuvj')
    if color_range in (1, 2):
        full = color_range == 2
    elif color_range not in (0, None):
        warnings.append(f'range tag {color_range} is malformed; taken as '
                        f"{'full' if full else 'limited'}")
    primaries = primaries if primaries not in (None, 0, 2) else UNSPECIFIED
    transfer = transfer if transfer not in (None, 0, 2) else UNSPECIFIED
    if is_rgb:
        spec = ColourSpec(RGB_MATRIX, True, primaries, transfer, assumed=primaries == UNSPECIFIED)
        return spec, None
    assumed = False
    if matrix in (None, UNSPECIFIED) or matrix not in _SWS_MATRIX:
        if matrix not in (None, UNSPECIFIED):
            guess = _PRIMARIES_MATRIX.get(primaries) or conventional_colour(width, height).matrix
            warnings.append(f'colour matrix {MATRIX_NAMES.get(matrix, matrix)} (tag {matrix}) is '
                            f'malformed or not supported; decoded as {MATRIX_NAMES[guess]}')
        matrix = _PRIMARIES_MATRIX.get(primaries) or conventional_colour(width, height).matrix
        assumed = True
    default_primaries, default_transfer = _MATRIX_DEFAULTS[matrix]
    if primaries == UNSPECIFIED:
        primaries, assumed = default_primaries, True
    if transfer == UNSPECIFIED:
        transfer, assumed = default_transfer, True
    spec = ColourSpec(matrix, full, primaries, transfer, assumed)
    warning = f"'{source}': {'; '.join(warnings)}" if warnings else None
    return spec, warning


@dataclass(frozen=True)
class Rotation:
    """The display matrix of a video as a quarter turn and a mirror.

    Attributes:
        degrees (int): Counter-clockwise rotation, 0, 90, 180 or 270 (FFmpeg's and PyAV's
            ``VideoFrame.rotation`` sense).
        hflip (bool): Mirrored horizontally (after the rotation, as FFmpeg applies it).
    """
    degrees: int = 0
    hflip: bool = False

    @property
    def is_identity(self) -> bool:
        """Whether the frames are shown as coded."""
        return self.degrees == 0 and not self.hflip


def rotation_from_display_matrix(data: bytes) -> Rotation:
    """Decompose FFmpeg's display matrix (9 int32: 16.16 fixed point, the last column 2.30).

    Args:
        data (bytes): The side data (36 bytes, native byte order).

    Returns:
        Rotation: The quarter turn and mirror.

    Raises:
        ValueError: The matrix is not a quarter turn, possibly mirrored, with unit scale.
    """
    if len(data) != 36:
        raise ValueError(f'{len(data)} bytes instead of 36')
    m = struct.unpack('=9i', data)
    a, b, c, d = (v / 65536.0 for v in (m[0], m[1], m[3], m[4]))
    det = a * d - b * c
    if not all(math.isfinite(v) for v in (a, b, c, d)) or abs(abs(det) - 1) > 1e-3:
        raise ValueError(f'not a rotation (scale {abs(det):.3g})')
    hflip = det < 0
    if hflip:  # undo av_display_matrix_flip(hflip): the first column negated
        a, c = -a, -c
    angle = -math.degrees(math.atan2(b, a))  # as av_display_rotation_get
    quarter = round(angle / 90.0)
    if abs(angle - 90 * quarter) > 0.5 or abs(a * a + c * c - 1) > 1e-3:
        raise ValueError(f'a rotation of {angle:.1f} degrees, not a quarter turn')
    return Rotation(int(quarter * 90) % 360, hflip)


def rotation_matrix(rotation: Rotation) -> List[int]:
    """The display matrix of ``rotation`` (the inverse of :func:`rotation_from_display_matrix`).

    Args:
        rotation (Rotation): The rotation.

    Returns:
        list[int]: The 9 entries in FFmpeg's layout.
    """
    theta = math.radians(rotation.degrees)
    cos, sin = round(math.cos(theta)), round(math.sin(theta))
    m = [cos, -sin, 0, sin, cos, 0, 0, 0, 0]
    if rotation.hflip:
        m[0], m[3] = -m[0], -m[3]
    one = 1 << 16
    return [m[0] * one, m[1] * one, 0, m[3] * one, m[4] * one, 0, 0, 0, 1 << 30]


def carried_tags(metadata: Dict[str, str]) -> Dict[str, str]:
    """The metadata entries worth writing into the restored video.

    Drops what the muxer writes itself (encoder, brands, handler) and statistics of the source's
    stream (duration, bit rate, frame and byte counts).

    Args:
        metadata (dict[str, str]): Container or stream metadata.

    Returns:
        dict[str, str]: The entries to carry.
    """
    return {k: v for k, v in metadata.items()
            if k.lower() not in _MANAGED_TAGS and not k.lower().startswith('_statistics')
            and not (k.lower() == 'language' and v == 'und')}


@dataclass
class VideoProperties:
    """What a video file carries besides its pixels (see :func:`probe_video`).

    Attributes:
        path (Path): The file.
        width (int): Coded frame width.
        height (int): Coded frame height.
        pix_fmt (str): Decoded pixel format of the first frame.
        bit_depth (int): Bits per sample of that format (8, 10, 12, 16).
        colour (ColourSpec): Matrix, range, primaries and transfer (tagged or assumed).
        time_base (Fraction | None): Time base of the video stream's timestamps.
        start_pts (int | None): Timestamp of the first frame.
        file_start (float): Start time (seconds) of the file: of its earliest stream.
        rate (Fraction | None): Average frame rate.
        rotation (Rotation): Display rotation.
        sample_aspect_ratio (Fraction | None): Pixel aspect ratio (None when square/unknown).
        metadata (dict[str, str]): Container metadata worth carrying.
        stream_metadata (dict[str, str]): Video stream metadata worth carrying.
        audio_streams (list[int]): Indexes of the audio streams.
        subtitle_streams (list[int]): Indexes of the subtitle streams.
        attachment_streams (list[int]): Indexes of the attachments (fonts of ASS subtitles).
        chapters (list[dict]): Chapters as PyAV gives them.
        uncarried (list[str]): What the restored video cannot carry (other video and data
            streams, HDR side data, ...).
        warnings (list[str]): One-line warnings about malformed metadata (and the fallback).
    """
    path: Path
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    colour: ColourSpec
    time_base: Optional[Fraction] = None
    start_pts: Optional[int] = None
    file_start: float = 0.0
    rate: Optional[Fraction] = None
    rotation: Rotation = field(default_factory=Rotation)
    sample_aspect_ratio: Optional[Fraction] = None
    metadata: Dict[str, str] = field(default_factory=dict)
    stream_metadata: Dict[str, str] = field(default_factory=dict)
    audio_streams: List[int] = field(default_factory=list)
    subtitle_streams: List[int] = field(default_factory=list)
    attachment_streams: List[int] = field(default_factory=list)
    chapters: List[dict] = field(default_factory=list)
    uncarried: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    def time_origin(self) -> int:
        """Where the first frame goes on the output's timeline, in :attr:`time_base`.

        The video keeps its offset from the file's start (from its audio, say), but a file that
        starts late as a whole (MPEG-TS streams start at 1.4 s) is moved to start at 0, as
        FFmpeg's command line does.

        Returns:
            int: The timestamp.
        """
        return (self.start_pts or 0) - int(round(max(self.file_start, 0.0) / self.time_base))

    @property
    def decode_format(self) -> str:
        """The RGB format frames are decoded to: ``'rgb48le'`` above 8 bits, else ``'rgb24'``."""
        return 'rgb48le' if self.bit_depth > 8 else 'rgb24'


def format_bit_depth(pix_fmt: str) -> int:
    """Bits per sample of a pixel format (the largest of its components).

    Args:
        pix_fmt (str): FFmpeg pixel format name.

    Returns:
        int: The bit depth (8 if the format is unknown).
    """
    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components) or 8
    except (ValueError, TypeError):
        return 8


def probe_video(container, stream, first_frame=None) -> VideoProperties:
    """Read the properties of an opened video stream.

    Args:
        container (av.container.InputContainer): The opened file.
        stream (av.video.stream.VideoStream): Its video stream.
        first_frame (av.VideoFrame, optional): Its first decoded frame (frame tags win over
            stream tags, and the display matrix and HDR side data are only on frames).

    Returns:
        VideoProperties: The properties.
    """
    path = Path(container.name)
    ctx = stream.codec_context
    src = first_frame if first_frame is not None else ctx
    pix_fmt = first_frame.format.name if first_frame is not None else (ctx.pix_fmt or 'yuv420p')
    width, height = ctx.width, ctx.height
    warnings: List[str] = []
    colour, warning = source_colour(
        _tag(src, 'colorspace', ctx), _tag(src, 'color_range', ctx),
        _tag(src, 'color_primaries', ctx), _tag(src, 'color_trc', ctx), pix_fmt, width, height,
        source=str(path))
    if warning:
        warnings.append(warning)
    rotation = Rotation()
    uncarried: List[str] = []
    if first_frame is not None:
        side_data = first_frame.side_data
        matrix = side_data.get(SideDataType.DISPLAYMATRIX)
        if matrix is not None:
            try:
                rotation = rotation_from_display_matrix(bytes(matrix))
            except ValueError as err:
                warnings.append(f"'{path}': the display matrix is malformed ({err}); the frames "
                                'are written as coded, without rotation')
        for kind, what in UNCARRIED_SIDE_DATA.items():
            if side_data.get(kind) is not None:
                uncarried.append(what)
    sar = stream.sample_aspect_ratio or ctx.sample_aspect_ratio
    sar = Fraction(sar) if sar and Fraction(sar) > 0 and Fraction(sar) != 1 else None
    others = [s for s in container.streams if s.index != stream.index]
    for other in others:
        if other.type in ('audio', 'subtitle', 'attachment'):
            continue
        if int(getattr(other, 'discard', 0) or 0) >= AVDISCARD_ALL:
            continue  # one the demuxer has read into something else (MP4's chapter track)
        name = other.codec_context.name if other.codec_context is not None else other.type
        uncarried.append(f'{other.type} stream #{other.index} ({name})')
    try:
        chapters = list(container.chapters())
    except (AttributeError, TypeError):
        chapters = []
    return VideoProperties(
        path=path, width=width, height=height, pix_fmt=pix_fmt,
        bit_depth=format_bit_depth(pix_fmt), colour=colour,
        time_base=Fraction(stream.time_base) if stream.time_base else None,
        start_pts=first_frame.pts if first_frame is not None and first_frame.pts is not None
        else stream.start_time,  # (a stream's start time can be its first packet's dts)
        file_start=container.start_time / 1e6 if container.start_time is not None else 0.0,
        rate=Fraction(stream.average_rate) if stream.average_rate else None,
        rotation=rotation, sample_aspect_ratio=sar, metadata=carried_tags(container.metadata),
        stream_metadata=carried_tags(stream.metadata),
        audio_streams=[s.index for s in others if s.type == 'audio'],
        subtitle_streams=[s.index for s in others if s.type == 'subtitle'],
        attachment_streams=[s.index for s in others if s.type == 'attachment'],
        chapters=chapters, uncarried=uncarried, warnings=warnings)


def _tag(frame, name: str, ctx) -> int:
    """A colour tag of the first frame, or of the codec context where the frame leaves it out."""
    unspecified = 0 if name == 'color_range' else UNSPECIFIED
    for holder in (frame, ctx):
        value = getattr(holder, name, None)
        if value is not None and int(value) != unspecified:
            return int(value)
    return unspecified


def output_colour(source: Optional[VideoProperties], width: int, height: int) -> ColourSpec:
    """The colour a YUV output is encoded with and tagged as.

    Args:
        source (VideoProperties, optional): The source video (None for images).
        width (int): Output frame width.
        height (int): Output frame height.

    Returns:
        ColourSpec: The source's matrix and range when it has one; for RGB sources and images,
        the convention for the output size, with the source's primaries and transfer if tagged.
    """
    if source is not None and source.colour.matrix != RGB_MATRIX:
        return source.colour
    spec = conventional_colour(width, height)
    if source is not None:
        tagged = source.colour
        spec = replace(spec, primaries=tagged.primaries if tagged.primaries != UNSPECIFIED
                       else spec.primaries,
                       transfer=tagged.transfer if tagged.transfer != UNSPECIFIED
                       else spec.transfer)
    return spec


def describe_source(path: Union[str, Path]) -> VideoProperties:
    """Open a video file and probe it (a convenience for tests and tools).

    Args:
        path (str | Path): The file.

    Returns:
        VideoProperties: Its properties.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream), None)
        return probe_video(container, stream, first)
