"""Random video compression of a clip, encoded and decoded in memory with PyAV.

MMagic's ``RandomVideoCompression`` fails for every codec on PyAV >= 14 (``TypeError: an integer
is required``: it assigns the string ``'NONE'`` to ``VideoFrame.pict_type``, an enum since then),
silently rescales frames of different sizes to the first frame's size, and cannot encode odd
widths or heights in ``yuv420p``. This one works on current PyAV, pads odd sizes, refuses clips
of mixed sizes with a clear message, and checks every codec when it is built.
"""
import io
import math
from fractions import Fraction
from typing import Any, Dict, List, Tuple, Union

import numpy as np

from realbasicvsr_plugin.registry import TRANSFORMS
from .base_degradation import BaseDegradation, check_channel_order
from .clip_frames import as_clip, to_uint8
from .degradation_params import check_distribution, get_range

try:
    import av
except ImportError:  # pragma: no cover - PyAV is a runtime requirement
    av = None


def _encode_decode(clip: np.ndarray, codec: str, bitrate: int, fps: int, container_format: str,
                   pixel_format: str, threads: int) -> np.ndarray:
    """Encode a ``uint8`` clip into an in-memory container and decode it back.

    Args:
        clip (np.ndarray): ``T x H x W x 3`` uint8 frames; H and W even.
        codec (str): The encoder's name.
        bitrate (int): Target bit rate in bits per second.
        fps (int): The frame rate written into the stream (sets the bits per frame).
        container_format (str): The container, e.g. ``'mp4'``.
        pixel_format (str): ``'rgb24'`` or ``'bgr24'``, the frames' channel order.
        threads (int): Encoder and decoder threads.

    Returns:
        np.ndarray: The decoded ``T' x H x W x 3`` uint8 frames, in decoding order.
    """
    buffer = io.BytesIO()
    time_base = Fraction(1, fps)
    with av.open(buffer, mode='w', format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = clip.shape[2]
        stream.height = clip.shape[1]
        stream.pix_fmt = 'yuv420p'
        stream.bit_rate = int(bitrate)
        stream.codec_context.thread_count = threads
        for index, frame in enumerate(clip):
            video_frame = av.VideoFrame.from_ndarray(frame, format=pixel_format)
            video_frame.pts = index
            video_frame.time_base = time_base
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer, mode='r', format=container_format) as container:
        container.streams.video[0].codec_context.thread_count = threads
        decoded = [frame.to_ndarray(format=pixel_format) for frame in container.decode(video=0)]
    return np.stack(decoded) if decoded else np.empty((0, ) + clip.shape[1:], np.uint8)


@TRANSFORMS.register_module()
class RandomVideoCompression(BaseDegradation):
    """Compress a clip with a random codec at a random bit rate, in memory.

    Per clip a codec is drawn from ``codec`` with ``codec_prob`` and a bit rate uniformly from
    the integers in ``bitrate``; the frames are encoded (``yuv420p``, at ``fps`` frames per second,
    so the bits per frame are ``bitrate / fps``) into an in-memory container and decoded back. No
    file is written. The codec's own rate control varies the quality from frame to frame, so the
    bit rate is drawn once per clip.

    The output has exactly as many frames as the input, in order, with the same size and dtype
    (float frames are rounded into [0, 255] before encoding, as MMagic does). Odd heights and
    widths are padded by edge replication to even numbers (``yuv420p`` needs them) and cropped
    back. Every codec is tried on a tiny clip when the transform is built: one that this PyAV build
    cannot encode with stops the build, not the training.

    Args:
        params (dict): MMagic's settings:

            - ``codec`` (list[str]): encoder names, e.g. ``['libx264', 'h264', 'mpeg4']``.
            - ``codec_prob`` (list[float]): their probabilities (default: equal).
            - ``bitrate`` ([low, high]): bit rate range in bits per second, e.g. ``[1e4, 1e5]``.
            - ``prob``: the probability of compressing a clip, default 1.
        keys (list[str]): The results keys to compress.
        channel_order (str): ``'rgb'`` (MMagic's RealBasicVSR pipelines) or ``'bgr'``: the order
            of the frames' channels, so that colours are converted to YUV correctly.
            Default: ``'rgb'``.
        fps (int): Frame rate of the encoded stream. Default: 1 (MMagic's and the original
            RealBasicVSR code's value, for which the paper's bit rates were chosen).
        container_format (str): Container for the in-memory stream. Default: ``'mp4'``.
        threads (int): Encoder/decoder threads; 1 keeps each data-loader worker on one core and
            the output reproducible. Default: 1.
    """

    known_params = ('codec', 'codec_prob', 'bitrate')

    def __init__(self, params: Dict[str, Any], keys: List[str], channel_order: str = 'rgb',
                 fps: int = 1, container_format: str = 'mp4', threads: int = 1) -> None:
        super().__init__(params, keys)
        name = type(self).__name__
        if av is None:
            raise ImportError(f'{name} needs PyAV: pip install av')
        p = self.params
        self.channel_order = check_channel_order(channel_order, name)
        for arg, value in (('fps', fps), ('threads', threads)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f'{name}: {arg} must be a positive integer, got {value!r}')
        self.fps, self.threads = int(fps), int(threads)
        self.container_format = container_format
        codecs = p.get('codec')
        if isinstance(codecs, str):
            codecs = [codecs]
        if (not isinstance(codecs, (list, tuple)) or not codecs
                or not all(isinstance(c, str) and c for c in codecs)):
            raise ValueError(f"{name}: params['codec'] must be a non-empty list of codec names, "
                             f'got {codecs!r}')
        self.codecs = list(codecs)
        probs = p.get('codec_prob', [1.0 / len(self.codecs)] * len(self.codecs))
        self.codec_prob = check_distribution(probs, len(self.codecs), 'codec_prob', name)
        bitrate = get_range(p, 'bitrate', None, name, (1, math.inf))
        if bitrate is None:
            raise ValueError(f"{name}: params['bitrate'] ([low, high] in bits/s) is required")
        self.bitrate = (int(math.ceil(bitrate[0])), int(math.floor(bitrate[1])))
        if self.bitrate[0] > self.bitrate[1]:
            raise ValueError(f"{name}: params['bitrate'] = {p['bitrate']!r} holds no integer")
        for codec in dict.fromkeys(self.codecs):
            self._check_codec(codec)

    def _check_codec(self, codec: str) -> None:
        """Encode and decode a tiny clip with ``codec`` to prove that this PyAV build can.

        Args:
            codec (str): The encoder's name.

        Raises:
            ValueError: If the codec is unknown to this PyAV/FFmpeg build or fails on a test clip.
        """
        name = type(self).__name__
        versions = f'PyAV {av.__version__}, libavcodec {av.library_versions["libavcodec"]}'
        try:
            av.codec.Codec(codec, 'w')
        except Exception as error:  # UnknownCodecError is a ValueError; other builds may differ
            raise ValueError(f'{name}: codec {codec!r} has no encoder in this build '
                             f'({versions}): {error}') from None
        test_clip = np.zeros((2, 16, 16, 3), np.uint8)
        try:
            decoded = _encode_decode(test_clip, codec, self.bitrate[1], self.fps,
                                     self.container_format, 'rgb24', 1)
        except Exception as error:
            raise ValueError(f'{name}: codec {codec!r} cannot encode a test clip into '
                             f'{self.container_format!r} ({versions}): '
                             f'{type(error).__name__}: {error}') from None
        if len(decoded) != len(test_clip):
            raise ValueError(f'{name}: codec {codec!r} returned {len(decoded)} frames for a '
                             f'{len(test_clip)}-frame test clip ({versions})')

    def draw_settings(self) -> Tuple[str, int]:
        """Draw the codec and the bit rate of one clip.

        Returns:
            tuple[str, int]: The codec's name and the bit rate in bits per second.
        """
        codec = self.codecs[int(np.random.choice(len(self.codecs), p=self.codec_prob))]
        bitrate = int(np.random.randint(self.bitrate[0], self.bitrate[1] + 1))
        return codec, bitrate

    def degrade(self, frames: Union[np.ndarray, List[np.ndarray]]) -> np.ndarray:
        """Compress the clip.

        Args:
            frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C``, C = 3 (or 1:
                gray, coded as colour).

        Returns:
            np.ndarray: The decoded frames: same number, order, shape and dtype.
        """
        codec, bitrate = self.draw_settings()
        return self.compress(as_clip(frames), codec, bitrate)

    def compress(self, clip: np.ndarray, codec: str, bitrate: int) -> np.ndarray:
        """Encode and decode a clip with a given codec and bit rate.

        Args:
            clip (np.ndarray): ``T x H x W x C`` frames, C = 3 or 1.
            codec (str): The encoder's name.
            bitrate (int): The bit rate in bits per second.

        Returns:
            np.ndarray: The decoded frames: same number, order, shape and dtype.

        Raises:
            ValueError: If the frames do not have 1 or 3 channels.
            RuntimeError: If the decoder does not return every frame.
        """
        num_frames, height, width, channels = clip.shape
        if channels not in (1, 3):
            raise ValueError(f'{type(self).__name__}: frames must have 3 (or 1) channels, '
                             f'got {channels}')
        frames = to_uint8(clip)
        if channels == 1:
            frames = np.repeat(frames, 3, axis=3)
        pad_h, pad_w = height % 2, width % 2
        if pad_h or pad_w:
            frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode='edge')
        frames = np.ascontiguousarray(frames)
        pixel_format = 'rgb24' if self.channel_order == 'rgb' else 'bgr24'
        decoded = _encode_decode(frames, codec, bitrate, self.fps, self.container_format,
                                 pixel_format, self.threads)
        if len(decoded) != num_frames:
            raise RuntimeError(f'{type(self).__name__}: codec {codec!r} returned '
                               f'{len(decoded)} frames for a {num_frames}-frame clip')
        decoded = decoded[:, :height, :width]
        if channels == 1:
            # the luma of a gray frame carries its value; average the channels to undo the copy
            decoded = np.rint(decoded.mean(axis=3, keepdims=True)).astype(np.uint8)
        return decoded.astype(clip.dtype, copy=False)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(params={self.params}, keys={self.keys}, '
                f'channel_order={self.channel_order!r}, fps={self.fps}, threads={self.threads})')
