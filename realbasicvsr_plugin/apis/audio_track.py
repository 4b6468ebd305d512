"""Carry a source video's audio into the restored video, interleaved with the new frames.

The audio is copied packet by packet (no quality loss) when the output container can hold its
codec; otherwise it is transcoded to AAC (or to the container's default audio codec where AAC is
not allowed, e.g. WebM). Packets are read lazily from a second demuxer on the source, so audio
is never held in memory beyond one packet.
"""
import logging
from pathlib import Path
from typing import Iterator, Optional, Union

logger = logging.getLogger(__name__)

_LAYOUTS = {1: 'mono', 2: 'stereo', 3: '2.1', 4: 'quad', 5: '5.0', 6: '5.1', 7: '6.1', 8: '7.1'}


class AudioTrackCopier:
    """Mux the first audio stream of ``source`` into ``output`` between ``start`` and ``end``.

    Create it after the output's video stream and before the first packet is muxed; then call
    :meth:`mux_until` after each video frame and :meth:`finish` before closing the output.

    Args:
        source (str | Path): The source video file.
        output (av.container.OutputContainer): The output container (not yet started).
        start (float): Source time (seconds) that becomes time 0 of the output. Defaults to 0.
        end (float, optional): Source time (seconds) after which audio is dropped; ``None``
            keeps the audio to its end.
        transcode_codec (str): Codec used when the source codec does not fit the output
            container. Defaults to ``'aac'``.

    Attributes:
        mode (str | None): ``'copy'``, ``'transcode'`` or ``None`` (no audio carried).
    """

    def __init__(self, source: Union[str, Path], output, start: float = 0.0,
                 end: Optional[float] = None, transcode_codec: str = 'aac') -> None:
        import av

        self.mode: Optional[str] = None
        self.start = start
        self.end = end
        self._output = output
        self._source = None
        try:
            self._source = av.open(str(source))
        except av.error.FFmpegError:
            return
        if not self._source.streams.audio:
            self.close()
            return
        self._in = self._source.streams.audio[0]
        supported = output.supported_codecs
        in_codec = self._in.codec_context.name
        if in_codec in supported:
            self._out = output.add_stream_from_template(self._in)
            self.mode = 'copy'
        else:
            codec = transcode_codec if transcode_codec in supported else \
                output.default_audio_codec
            if not codec or codec == 'none' or codec not in supported:
                logger.warning("the audio of '%s' (%s) cannot be stored in a %s file: dropped",
                               source, in_codec, output.format.name)
                self.close()
                return
            self._out = output.add_stream(codec, rate=self._in.codec_context.sample_rate)
            channels = self._in.codec_context.channels
            self._out.layout = _LAYOUTS.get(channels, 'stereo')
            self.mode = 'transcode'
            logger.info("audio of '%s': %s cannot be copied into %s, transcoding to %s", source,
                        in_codec, output.format.name, codec)
        self._packets: Iterator = self._source.demux(self._in)
        self._held = None  # a packet read ahead of the current video time
        self._done = False

    def _next_packet(self):
        """The next audio packet of the source with a timestamp, or None at its end."""
        if self._held is not None:
            packet, self._held = self._held, None
            return packet
        for packet in self._packets:
            if packet.pts is not None:
                return packet
        self._done = True
        return None

    def _seconds(self, packet) -> float:
        return float(packet.pts * packet.time_base)

    def _mux(self, packet) -> None:
        begin = self._seconds(packet)
        length = float((packet.duration or 0) * packet.time_base)
        if self.start > 0 and begin + length <= self.start:
            return  # before the range
        shift = int(round(self.start / packet.time_base))
        if self.mode == 'copy':
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = self._out
            self._output.mux(packet)
        else:
            for frame in packet.decode():
                frame.pts = None  # the encoder numbers the resampled frames itself
                for out_packet in self._out.encode(frame):
                    self._output.mux(out_packet)

    def mux_until(self, seconds: float) -> None:
        """Mux the audio up to output time ``seconds`` (i.e. source time ``start + seconds``).

        Args:
            seconds (float): Output time reached by the video.
        """
        if self.mode is None or self._done:
            return
        limit = self.start + seconds
        while True:
            packet = self._next_packet()
            if packet is None:
                return
            begin = self._seconds(packet)
            if self.end is not None and begin >= self.end:
                self._done = True
                return
            if begin > limit:
                self._held = packet
                return
            self._mux(packet)

    def finish(self) -> None:
        """Mux the rest of the audio (up to ``end``) and flush the encoder."""
        if self.mode is None:
            return
        self.mux_until(float('inf'))
        if self.mode == 'transcode':
            for out_packet in self._out.encode(None):
                self._output.mux(out_packet)
        self.close()

    def close(self) -> None:
        """Close the source demuxer."""
        if self._source is not None:
            self._source.close()
            self._source = None
