"""Carry what a source video holds besides its frames into the restored video: its audio and
subtitle streams (interleaved with the new frames, on the source's timeline), rotation, metadata,
chapters and attachments (:class:`SourceCarrier`).

Audio is copied packet by packet (no quality loss) when the output container can hold its codec;
otherwise it is transcoded to AAC (or to the container's default audio codec where AAC is not
allowed, e.g. WebM), in the source's own channel layout and sample rate. Subtitles are copied
where the container takes their codec (SubRip, ASS and WebVTT in Matroska, mov_text in MP4 and
MOV, WebVTT in WebM) and are otherwise reported as not carried. Packets are read lazily from a
second demuxer on the source, so nothing is held in memory beyond one packet per stream. Each
stream keeps its metadata (language, title) and disposition.
"""
import logging
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional, Union

import av

from .video_metadata import carried_tags

if TYPE_CHECKING:  # pragma: no cover
    from .video_metadata import VideoProperties

logger = logging.getLogger(__name__)


class StreamCopier:
    """Mux one stream of ``source`` into ``output`` between ``start`` and ``end``, by copy.

    Create it after the output's video stream and before the first packet is muxed; then call
    :meth:`mux_until` after each video frame and :meth:`finish` before closing the output.
    Source time ``t`` becomes output time ``t - start``.

    Args:
        source (str | Path): The source video file.
        output (av.container.OutputContainer): The output container (not yet started).
        stream_index (int): Index of the stream in the source.
        start (float): Source time (seconds) that becomes time 0 of the output; packets that end
            before it are dropped. Defaults to 0.
        end (float, optional): Source time (seconds) from which packets are dropped; ``None``
            keeps the stream to its end.

    Attributes:
        mode (str | None): ``'copy'`` (or ``'transcode'`` for audio), or ``None`` when the
            stream is not carried.
        reason (str | None): Why it is not carried, for the user.
    """

    kind = 'stream'

    def __init__(self, source: Union[str, Path], output, stream_index: int,
                 start: float = 0.0, end: Optional[float] = None) -> None:
        self.mode: Optional[str] = None
        self.reason: Optional[str] = None
        self.start = start
        self.end = end
        self._output = output
        self._source = None
        try:
            self._source = av.open(str(source))
        except av.error.FFmpegError as err:
            self.reason = f'{self.kind} of {source}: {err}'
            return
        self._in = self._source.streams[stream_index]
        self._out = self._add_stream()
        if self._out is None:
            self.close()
            return
        self._out.metadata.update(carried_tags(self._in.metadata))
        self._out.disposition = self._in.disposition
        self._packets: Iterator = self._source.demux(self._in)
        self._held = None  # a packet read ahead of the current video time
        self._done = False

    def describe(self) -> str:
        """The stream for the user, e.g. ``'subtitle stream #2 (subrip, eng)'``."""
        language = self._in.metadata.get('language')
        extra = f', {language}' if language and language != 'und' else ''
        return f'{self._in.type} stream #{self._in.index} ({self._in.codec_context.name}{extra})'

    def _add_stream(self):
        """Add the output stream (None, with :attr:`reason` set, if the container refuses)."""
        if self._in.codec_context.name not in self._output.supported_codecs:
            self.reason = f'{self.describe()}: {self._output.format.name} files cannot hold it'
            return None
        self.mode = 'copy'
        return self._output.add_stream_from_template(self._in)

    def _next_packet(self):
        """The next packet of the source stream with a timestamp, or None at its end."""
        if self._held is not None:
            packet, self._held = self._held, None
            return packet
        for packet in self._packets:
            if packet.pts is not None:
                return packet
        self._done = True
        return None

    @staticmethod
    def _seconds(packet) -> float:
        return float(packet.pts * packet.time_base)

    def _mux(self, packet) -> None:
        begin = self._seconds(packet)
        length = float((packet.duration or 0) * packet.time_base)
        if self.start > 0 and begin + length <= self.start:
            return  # before the range
        self._mux_in_range(packet)

    def _mux_in_range(self, packet) -> None:
        shift = int(round(self.start / packet.time_base))
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        packet.stream = self._out
        self._output.mux(packet)

    def mux_until(self, seconds: float) -> None:
        """Mux the stream up to output time ``seconds`` (i.e. source time ``start + seconds``).

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

    def _flush(self) -> None:
        """Flush an encoder (transcoding only)."""

    def finish(self) -> None:
        """Mux the rest of the stream (up to ``end``) and flush the encoder."""
        if self.mode is None:
            return
        self.mux_until(float('inf'))
        self._flush()
        self.close()

    def close(self) -> None:
        """Close the source demuxer."""
        if self._source is not None:
            self._source.close()
            self._source = None


class AudioTrackCopier(StreamCopier):
    """Carry an audio stream of ``source``: copied, or transcoded where the container needs it.

    Args:
        source (str | Path): The source video file.
        output (av.container.OutputContainer): The output container (not yet started).
        start (float): Source time (seconds) that becomes time 0 of the output. Defaults to 0.
        end (float, optional): Source time (seconds) after which audio is dropped; ``None``
            keeps the audio to its end.
        transcode_codec (str): Codec used when the source codec does not fit the output
            container. Defaults to ``'aac'``.
        stream_index (int, optional): Index of the audio stream in the source; ``None`` takes
            the first audio stream (and carries nothing if there is none).

    Attributes:
        mode (str | None): ``'copy'``, ``'transcode'`` or ``None`` (no audio carried).
    """

    kind = 'audio'

    def __init__(self, source: Union[str, Path], output, start: float = 0.0,
                 end: Optional[float] = None, transcode_codec: str = 'aac',
                 stream_index: Optional[int] = None) -> None:
        self._transcode_codec = transcode_codec
        self._next_pts = 0  # next free sample of a transcoded stream
        if stream_index is None:
            try:
                with av.open(str(source)) as probe:
                    streams = probe.streams.audio
                    stream_index = streams[0].index if streams else None
            except av.error.FFmpegError:
                stream_index = None
            if stream_index is None:
                self.mode, self.reason, self._source = None, None, None
                return
        super().__init__(source, output, stream_index, start, end)

    def _add_stream(self):
        output = self._output
        supported = output.supported_codecs
        in_ctx = self._in.codec_context
        if in_ctx.name in supported:
            self.mode = 'copy'
            return output.add_stream_from_template(self._in)
        codec = self._transcode_codec if self._transcode_codec in supported else \
            output.default_audio_codec
        if not codec or codec == 'none' or codec not in supported:
            self.reason = f'{self.describe()}: {output.format.name} files cannot hold it'
            return None
        out = output.add_stream(codec, rate=in_ctx.sample_rate)
        layout = in_ctx.layout  # the source's own channel layout
        if len(layout.channels) <= 2 and all(ch.name == 'NONE' for ch in layout.channels):
            # channels without positions (PCM in Matroska): one or two mean mono and stereo
            layout = 'mono' if len(layout.channels) == 1 else 'stereo'
        out.layout = layout
        self.mode = 'transcode'
        logger.info('%s cannot be copied into %s, transcoding to %s', self.describe(),
                    output.format.name, codec)
        return out

    def _mux_in_range(self, packet) -> None:
        if self.mode == 'copy':
            super()._mux_in_range(packet)
            return
        rate = self._out.codec_context.sample_rate
        for frame in packet.decode():
            if frame.pts is not None and frame.sample_rate == rate:
                # on the source's timeline (a source whose audio starts late stays in sync)
                pts = int(round((float(frame.pts * frame.time_base) - self.start) * rate))
                pts = max(pts, self._next_pts)
                self._next_pts = pts + frame.samples
                frame.pts, frame.time_base = pts, Fraction(1, rate)
            else:
                frame.pts = None  # the encoder numbers the resampled frames itself
            for out_packet in self._out.encode(frame):
                self._output.mux(out_packet)

    def _flush(self) -> None:
        if self.mode == 'transcode':
            for out_packet in self._out.encode(None):
                self._output.mux(out_packet)


class SubtitleTrackCopier(StreamCopier):
    """Copy a subtitle stream of ``source`` where the output container takes its codec.

    Args:
        source (str | Path): The source video file.
        output (av.container.OutputContainer): The output container (not yet started).
        stream_index (int): Index of the subtitle stream in the source.
        start (float): Source time (seconds) that becomes time 0 of the output. Defaults to 0.
        end (float, optional): Source time (seconds) from which subtitles are dropped.
    """

    kind = 'subtitle'


#: Output container formats whose muxer writes a display matrix (rotation).
ROTATION_FORMATS = ('mp4', 'mov', 'matroska', 'webm', 'ipod', '3gp', '3g2', 'ismv', 'f4v', 'psp')


class SourceCarrier:
    """Carry everything of a source video but its frames into an output container.

    That is: the rotation (display matrix) of the video stream, the container and video-stream
    metadata (title, language), the chapters, the attachments (fonts of ASS subtitles, into
    Matroska), the audio streams (copied, or transcoded where the container needs it) and the
    subtitle streams (where the container takes their codec), the streams on the source's
    timeline. What cannot be carried is listed in :attr:`uncarried`, with what the source holds
    that no output carries (:attr:`VideoProperties.uncarried`).

    The same carrier goes around the frames a :class:`~.frame_writers.VideoFileWriter` encodes
    and around the packets :func:`~.segments.join_video_segments` copies from the segments of a
    long job, so that a job written in segments keeps what a job written in one go keeps. Use:
    create it once the output's video stream is added and before anything is muxed; call
    :meth:`start` with the source time that becomes the output's time 0 before the first video
    packet, :meth:`mux_until` as the video advances, :meth:`finish` before the output is closed
    (or :meth:`close` when it is abandoned).

    Args:
        source (VideoProperties): The probed source video.
        output (av.container.OutputContainer): The output container (not yet started).
        video_stream (av.video.stream.VideoStream): The output's video stream.
        audio (bool): Carry the audio streams. Defaults to True.
        subtitles (bool): Carry the subtitle streams. Defaults to True.

    Attributes:
        uncarried (list[str]): What the output does not carry, one item each.
        start_time (float | None): The source time that became the output's time 0.
    """

    def __init__(self, source: 'VideoProperties', output, video_stream, audio: bool = True,
                 subtitles: bool = True) -> None:
        self.source = source
        self.uncarried: List[str] = list(source.uncarried)
        self.start_time: Optional[float] = None
        self._output = output
        self._copiers: List[StreamCopier] = []
        self._format = fmt = output.format.name
        if not source.rotation.is_identity:
            if fmt in ROTATION_FORMATS:
                video_stream.set_display_rotation(source.rotation.degrees,
                                                  hflip=source.rotation.hflip)
            else:
                self.uncarried.append(f'rotation ({source.rotation.degrees} degrees: '
                                      f'{fmt} files have no display matrix)')
        output.metadata.update(source.metadata)
        video_stream.metadata.update(source.stream_metadata)
        copiers: List[StreamCopier] = []
        if audio:
            copiers += [AudioTrackCopier(source.path, output, stream_index=i)
                        for i in source.audio_streams]
        if subtitles:
            copiers += [SubtitleTrackCopier(source.path, output, i)
                        for i in source.subtitle_streams]
        for copier in copiers:
            if copier.mode is None:
                if copier.reason:
                    self.uncarried.append(copier.reason)
            else:
                self._copiers.append(copier)
        if source.attachment_streams:
            self._carry_attachments()

    def _carry_attachments(self) -> None:
        """Attachments (fonts of ASS subtitles) go into Matroska's header."""
        source, output = self.source, self._output
        if output.format.name != 'matroska':
            self.uncarried.append(f'{len(source.attachment_streams)} attachment(s) '
                                  f'({output.format.name} files cannot hold them)')
            return
        with av.open(str(source.path)) as src:
            for index in source.attachment_streams:
                attachment = src.streams[index]
                out = output.add_stream_from_template(attachment)
                out.metadata.update(attachment.metadata)

    def start(self, seconds: float) -> None:
        """Put the source time ``seconds`` at the output's time 0 (streams and chapters).

        Args:
            seconds (float): Source time of the output's start.
        """
        self.start_time = seconds
        for copier in self._copiers:
            copier.start = seconds

    def _write_chapters(self, end: Optional[float]) -> None:
        """Give the output the source's chapters within [start, ``end``), moved to its time 0.

        Set once, when the output ends: every muxer (Matroska, MP4, MOV) writes chapters that
        are set after its header in its trailer, and ignores a later change of those it wrote
        in the header, so the end of a frame range must be known first.
        """
        chapters = []
        for chapter in self.source.chapters:
            tb = chapter['time_base']
            shift = int(round((self.start_time or 0.0) / tb))
            stop = chapter['end'] if end is None else min(chapter['end'], int(round(end / tb)))
            if stop - shift <= 0 or stop <= chapter['start']:
                continue  # wholly before the start or after the end of the range
            chapters.append(dict(chapter, start=max(0, chapter['start'] - shift),
                                 end=stop - shift))
        if chapters:
            self._output.set_chapters(chapters)

    def mux_until(self, seconds: float) -> None:
        """Mux the carried streams up to output time ``seconds``, reached by the video.

        Args:
            seconds (float): Output time.
        """
        for copier in self._copiers:
            copier.mux_until(seconds)

    def finish(self, end: Optional[float] = None) -> None:
        """Mux the rest of the carried streams and flush their encoders.

        Args:
            end (float, optional): Source time from which audio, subtitles and chapters are
                dropped (the end of a frame range); ``None`` keeps them to their end.
        """
        for copier in self._copiers:
            if end is not None:
                copier.end = end
            copier.finish()
        self._write_chapters(end)

    def close(self) -> None:
        """Close the source demuxers (an abandoned output)."""
        for copier in self._copiers:
            copier.close()

    def check_rotation(self, frame) -> None:
        """Note a rotation that the written file lost (a muxer that did not store it).

        Args:
            frame (av.VideoFrame): The first frame decoded from the written file.
        """
        wanted = self.source.rotation
        if not wanted.is_identity and self._format in ROTATION_FORMATS:
            if int(round(frame.rotation)) % 360 != wanted.degrees:
                self.uncarried.append(f'rotation ({wanted.degrees} degrees)')

    @property
    def audio_mode(self) -> Optional[str]:
        """``'copy'``, ``'transcode'`` or ``None``: how the source's (first) audio was carried."""
        for copier in self._copiers:
            if isinstance(copier, AudioTrackCopier):
                return copier.mode
        return None
