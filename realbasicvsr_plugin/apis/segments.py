"""Long jobs in closed segments, so that a crashed or killed run can resume where it stopped.

A long video is restored as a row of *segments* of about ``segment_frames`` output frames. Each is
written as a closed, self-contained file (a video file of the output's format, or a folder of PNG
frames) into a *work folder* beside the output, ``.<output name>.work/``, renamed into place when
complete, synced to disk, and recorded in a small ``segment_<k>.done`` file. A run that is killed
(Ctrl-C, SIGTERM, SIGKILL, power loss) leaves the completed segments; ``resume=True`` checks that
the work folder was made with the same settings (``settings.json``, a fingerprint of the input,
the model's weights and every option that changes the result) and continues after the last
complete segment. When all are done they are joined into the output by stream copy (packets are
copied, not re-encoded; PNG files are moved) and the work folder is removed.

A video segment holds nothing but the restored video: its first frame at time 0, the others at
their source distances from it (or, at a forced constant rate, one frame period apart), and its
record keeps the source timestamp of its first frame. The join puts every segment back at its
source time, moved by the one shift a job written in one go applies (the job's first frame
lands at :meth:`~.video_metadata.VideoProperties.time_origin`), so variable frame rates, start
offsets and the gaps at the seams are kept exactly, and carries everything
else of the source once, with the :class:`~.audio_track.SourceCarrier` that a one-go
:class:`~.frame_writers.VideoFileWriter` uses: audio and subtitle streams on the source's
timeline (trimmed to a frame range), rotation, metadata, chapters and attachments.

Why the seams are invisible: the streaming inferencer cuts the video into temporal chunks of
``L = max_seq_len`` frames that start every ``P = L - overlap`` frames, and cross-fades the overlaps
(:class:`~.temporal_chunks.TemporalChunker`). Segment boundaries are put on that chunk grid, and
each segment is restored with one chunk of temporal context before it and the chunk that overlaps
its end (``overlap`` frames) after it (more chunks before it when ``overlap`` exceeds ``P``, so
that no earlier chunk reaches the segment). Every chunk a segment runs is then the same window of
input frames as in one uninterrupted pass, so each output frame is computed from exactly the same
inputs, with the same cross-fade, whether the job ran in one go, in segments, or was killed and
resumed: the result does not depend on where a run stopped. The cost is one chunk computed twice
per segment (``max_seq_len / segment_frames`` more work; 3 % with the defaults).
"""
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from .errors import InferenceError

if TYPE_CHECKING:  # pragma: no cover
    from .video_metadata import VideoProperties

#: Output frames per segment when the caller gives none (about 40 s of 25 fps video).
DEFAULT_SEGMENT_FRAMES = 1000

_SETTINGS = 'settings.json'


@dataclass(frozen=True)
class SegmentPlan:
    """Where the segments of a job start and end, on the temporal chunk grid.

    Frame indices are relative to the first restored frame.

    Args:
        chunk (int): Frames per temporal chunk, ``L`` (``max_seq_len``).
        overlap (int): Frames shared by consecutive chunks.
        periods (int): Chunk periods ``P = L - overlap`` per segment (``Q``).
    """

    chunk: int
    overlap: int
    periods: int

    @property
    def period(self) -> int:
        """``P``: frames between the starts of consecutive chunks."""
        return self.chunk - self.overlap

    @property
    def length(self) -> int:
        """Output frames of every segment but the last."""
        return self.periods * self.period

    def outputs(self, k: int) -> Tuple[int, int]:
        """``[first, stop)`` of the output frames of segment ``k`` (the last one stops earlier)."""
        return k * self.length, (k + 1) * self.length

    @property
    def context(self) -> int:
        """Chunk periods restored before a segment's first frame: enough that no chunk which
        starts earlier reaches the segment (``ceil(overlap / P)``), and at least one, so that the
        last segment has a whole chunk before the end of the input."""
        return max(1, -(-self.overlap // self.period))

    def inputs(self, k: int) -> Tuple[int, int]:
        """``[first, stop)`` of the input frames segment ``k`` is restored from.

        :attr:`context` chunk periods before the segment's first frame (none for the first
        segment) and, after its last frame, the chunk whose overlap finishes it.
        """
        first = max(0, k * self.length - self.context * self.period)
        return first, (k + 1) * self.length + self.overlap


def plan_segments(max_seq_len: Optional[int], overlap: int,
                  segment_frames: int) -> Optional[SegmentPlan]:
    """The segment plan for the streaming settings, or None when segments cannot be used.

    Args:
        max_seq_len (int | None): Frames per temporal chunk (0 or None: the whole clip at once,
            which cannot be cut without changing the result).
        overlap (int): Frames shared by consecutive chunks.
        segment_frames (int): Wanted output frames per segment (rounded to whole chunk periods).

    Returns:
        SegmentPlan | None: The plan.
    """
    if not max_seq_len or segment_frames <= 0:
        return None
    period = max_seq_len - overlap
    return SegmentPlan(max_seq_len, overlap, max(1, round(segment_frames / period)))


def work_folder_for(output: Path) -> Path:
    """The work folder of an output: ``.<output name>.work`` beside it.

    Args:
        output (Path): The final output path.

    Returns:
        Path: The work folder.
    """
    return output.parent / f'.{output.name}.work'


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk (a power loss keeps what was recorded)."""
    flags = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # pragma: no cover - file systems that cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically and durably."""
    temp = path.with_name(path.name + '.tmp')
    with open(temp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    _fsync(path.parent)


def model_fingerprint(model) -> str:
    """SHA-256 over a network's class, parameter and buffer names, shapes and values.

    Args:
        model (nn.Module): The network.

    Returns:
        str: Hex digest.
    """
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for name, tensor in model.state_dict().items():
        digest.update(f'{name}:{tuple(tensor.shape)}:{tensor.dtype}'.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def input_fingerprint(path: Path) -> Dict[str, Any]:
    """What identifies an input: its resolved path, size and modification time (folders: of
    every file in them).

    Args:
        path (Path): Video file, image or folder.

    Returns:
        dict: JSON-able description.
    """
    path = Path(path).resolve()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f'{file.name}:{stat.st_size}:{stat.st_mtime_ns}'.encode())
    return dict(path=str(path), files=len(files), stat=digest.hexdigest())


@dataclass
class SegmentRecord:
    """A completed segment.

    Attributes:
        index (int): ``k``.
        frames (int): Output frames it holds.
        last (bool): Whether it reaches the end of the input.
        first_pts (int | None): Source timestamp of its first frame (video segments).
        notes (list[str]): What its encoding could not keep (bit depth, colour tags), for the
            user.
    """

    index: int
    frames: int
    last: bool
    first_pts: Optional[int] = None
    notes: List[str] = field(default_factory=list)


class WorkFolder:
    """The work folder of a segmented job: settings, completed segments, their records.

    Args:
        path (Path): The folder (see :func:`work_folder_for`).
        suffix (str): File suffix of a segment (the output's, e.g. ``'.mp4'``; ``''`` for PNG
            frame folders).
    """

    def __init__(self, path: Path, suffix: str) -> None:
        self.path = Path(path)
        self.suffix = suffix

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def start(cls, path: Path, suffix: str, settings: Dict[str, Any]) -> 'WorkFolder':
        """Create a new work folder for ``settings`` (refused when one is already there).

        Args:
            path (Path): The folder.
            suffix (str): Segment suffix.
            settings (dict): The job's fingerprint (JSON-able).

        Returns:
            WorkFolder: The folder.

        Raises:
            InferenceError: An interrupted run left a work folder there.
        """
        folder = cls(path, suffix)
        if folder.path.exists():
            done = len(folder.completed()) if (folder.path / _SETTINGS).is_file() else 0
            raise InferenceError(
                f"an interrupted run left the work folder '{folder.path}' ({done} segment(s) "
                'done): pass resume to continue it, or remove the folder to start again',
                param='resume')
        folder.path.mkdir(parents=True)
        _write_json(folder.path / _SETTINGS, settings)
        return folder

    @classmethod
    def resume(cls, path: Path, suffix: str, settings: Dict[str, Any]) -> 'WorkFolder':
        """Open the work folder of an interrupted run with the same ``settings``.

        Args:
            path (Path): The folder.
            suffix (str): Segment suffix.
            settings (dict): The job's fingerprint.

        Returns:
            WorkFolder: The folder.

        Raises:
            InferenceError: There is no work folder, or it is from other settings.
        """
        folder = cls(path, suffix)
        file = folder.path / _SETTINGS
        if not file.is_file():
            raise InferenceError(f"resume: there is no work folder '{folder.path}' of an "
                                 'interrupted run to continue (nothing was started)',
                                 param='resume')
        try:
            saved = json.loads(file.read_text())
        except (OSError, ValueError) as err:
            raise InferenceError(f"resume: cannot read '{file}' ({err}); remove the work folder "
                                 'to start again', param='resume') from None
        differ = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
        if differ:
            raise InferenceError(
                f"resume: the work folder '{folder.path}' is from a run with other settings "
                f"(different: {', '.join(differ)}); run with the same input, model and options, "
                'or remove the folder to start again (nothing was started)', param='resume')
        return folder

    # -- segments -----------------------------------------------------------------------------

    def segment_path(self, k: int) -> Path:
        """Where segment ``k`` is written."""
        return self.path / f'segment_{k:05d}{self.suffix}'

    def _record_path(self, k: int) -> Path:
        return self.path / f'segment_{k:05d}.done'

    def completed(self) -> List[SegmentRecord]:
        """The complete segments from the first on, in order, up to the first gap or bad one.

        Returns:
            list[SegmentRecord]: The segments a resumed run keeps.
        """
        records = []
        k = 0
        while True:
            record = self._record_path(k)
            segment = self.segment_path(k)
            if not (record.is_file() and segment.exists()):
                break
            try:
                data = json.loads(record.read_text())
                first_pts = data.get('first_pts')
                entry = SegmentRecord(k, int(data['frames']), bool(data['last']),
                                      None if first_pts is None else int(first_pts),
                                      [str(note) for note in data.get('notes', [])])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                break
            if count_frames(segment) != entry.frames:
                break  # written but not (fully) on disk: restored again
            records.append(entry)
            if entry.last:
                break
            k += 1
        return records

    def mark_done(self, k: int, frames: int, last: bool, first_pts: Optional[int] = None,
                  notes: Optional[List[str]] = None) -> SegmentRecord:
        """Record segment ``k`` as complete, after syncing it to disk.

        Args:
            k (int): Segment index.
            frames (int): Output frames it holds.
            last (bool): Whether it reaches the end of the input.
            first_pts (int, optional): Source timestamp of its first frame.
            notes (list[str], optional): What its encoding could not keep.

        Returns:
            SegmentRecord: The record.
        """
        segment = self.segment_path(k)
        for file in (sorted(segment.iterdir()) if segment.is_dir() else [segment]):
            _fsync(file)
        _fsync(segment)
        _fsync(self.path)
        _write_json(self._record_path(k), dict(frames=frames, last=last, first_pts=first_pts,
                                               notes=list(notes or [])))
        return SegmentRecord(k, frames, last, first_pts, list(notes or []))

    def has_records(self) -> bool:
        """Whether any segment was recorded as complete."""
        return any(self.path.glob('segment_*.done'))

    def discard_from(self, k: int) -> None:
        """Remove segments ``k``, ``k+1``, ... (stale ones a resumed run writes again)."""
        for entry in list(self.path.iterdir()):
            stem = entry.name.split('.')[0]
            if stem.startswith('segment_') and stem[8:].isdigit() and int(stem[8:]) >= k:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    def remove(self) -> None:
        """Delete the work folder."""
        shutil.rmtree(self.path, ignore_errors=True)


def count_frames(segment: Path) -> int:
    """Frames in a segment: PNG files of a folder, or video packets of a file (not decoded).

    Args:
        segment (Path): The segment.

    Returns:
        int: The count (-1 if the file cannot be read).
    """
    if segment.is_dir():
        return sum(1 for p in segment.iterdir() if p.suffix == '.png')
    import av

    try:
        with av.open(str(segment)) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, IndexError):
        return -1


def segment_inputs(frames: Iterator, plan: SegmentPlan, first_segment: int,
                   offset: int) -> Iterator[Tuple[int, Iterator, 'EndFlag']]:
    """Split one frame stream into the overlapping inputs of consecutive segments.

    The frames a segment shares with the next (one chunk) are held back and fed again, so the
    source is read once, front to back.

    Args:
        frames (Iterator): The source's frames (anything with an ``index`` attribute), starting at
            relative index ``plan.inputs(first_segment)[0]``.
        plan (SegmentPlan): The plan.
        first_segment (int): Index of the first segment to produce.
        offset (int): Source index of relative frame 0 (the start of the frame range).

    Yields:
        tuple: ``(k, frames of segment k, end flag)``; the flag's ``last`` is set once the
        segment's frames are exhausted (whether the source ended within it).
    """
    held: List = []
    source = iter(frames)
    k = first_segment
    while True:
        stop = plan.inputs(k)[1]
        next_first = plan.inputs(k + 1)[0]
        flag = EndFlag()
        carried: List = []

        def run(held=held, stop=stop, next_first=next_first, flag=flag, carried=carried):
            reached = False  # whether the frame before ``stop`` was given
            for frame in held:
                rel = frame.index - offset
                if rel >= next_first:
                    carried.append(frame)
                reached = rel + 1 >= stop
                yield frame
            if not reached:
                for frame in source:
                    rel = frame.index - offset
                    if rel >= next_first:
                        carried.append(frame)
                    yield frame
                    if rel + 1 >= stop:
                        break
                else:
                    flag.last = True
                    return
            peek = next(source, None)  # does the source go on after this segment?
            if peek is None:
                flag.last = True
            else:
                carried.append(peek)

        yield k, run(), flag
        if flag.last:
            return
        held = carried
        k += 1


class EndFlag:
    """Set by :func:`segment_inputs` when a segment's input reaches the end of the source."""

    def __init__(self) -> None:
        self.last = False


def join_video_segments(segments: List[Path], output_temp: Path,
                        source: Optional['VideoProperties'] = None,
                        first_pts: Optional[List[Optional[int]]] = None,
                        time_origin: Optional[int] = None, rate: Optional[Fraction] = None,
                        audio: bool = True, trim_end: bool = False
                        ) -> Tuple[Optional[str], List[str]]:
    """Concatenate video segments into one file by stream copy, carrying the rest of the source.

    Packets are copied, not re-encoded. Segments that keep the source's timing
    (``time_origin`` given) are each put back at the source time of their first frame
    (``first_pts``), moved by the one shift a :class:`~.frame_writers.VideoFileWriter` writing
    the whole job applies: the job's first frame lands at ``time_origin`` and every gap between
    frames, the seams included, is kept. Otherwise (a constant rate) each segment follows the
    previous one. Audio, subtitles, rotation, metadata,
    chapters and attachments of ``source`` are carried by a
    :class:`~.audio_track.SourceCarrier`, as in a job written in one go.

    Args:
        segments (list[Path]): The segment files in order (same codec and settings).
        output_temp (Path): The file to write (the output's temporary path).
        source (VideoProperties, optional): The source video (None: frames from images).
        first_pts (list[int | None], optional): Source timestamp (in ``source.time_base``) of
            the first frame of each segment, from its record.
        time_origin (int, optional): Where the job's first frame goes (in
            ``source.time_base``), for segments with the source's timestamps; None: a constant
            rate.
        rate (Fraction, optional): The output's frame rate (the length of the last frame, for
            ``trim_end``).
        audio (bool): Carry the audio streams. Defaults to True.
        trim_end (bool): Drop audio and subtitles after the last frame (a frame range).

    Returns:
        tuple[str | None, list[str]]: How the (first) audio was carried (``'copy'``,
        ``'transcode'`` or None), and what the output does not carry.
    """
    import av

    from .audio_track import SourceCarrier

    first_pts = list(first_pts or [None] * len(segments))
    timed = source is not None and source.time_base is not None and \
        time_origin is not None and first_pts[0] is not None
    with av.open(str(segments[0])) as first:
        output = av.open(str(output_temp), 'w')
        try:
            out_stream = output.add_stream_from_template(first.streams.video[0])
        except BaseException:
            output.close()
            raise
    carrier = None
    try:
        if source is not None:
            carrier = SourceCarrier(source, output, out_stream, audio=audio)
        # the source time that becomes the output's time 0 (as VideoFileWriter fixes it)
        if timed:
            start = Fraction(first_pts[0] - time_origin) * source.time_base
        elif source is not None and source.time_base is not None and first_pts[0] is not None:
            start = Fraction(first_pts[0]) * source.time_base
        else:
            start = Fraction(0)
        if carrier is not None:
            carrier.start(float(start))
        end = None  # end of the previous segment, in its time base
        last_dts = None
        last_time = None  # output time of the latest frame (seconds)
        frames = 0
        for k, segment in enumerate(segments):
            with av.open(str(segment)) as container:
                stream = container.streams.video[0]
                base = stream.time_base
                packets = [p for p in container.demux(stream) if p.size]
                if not packets:
                    continue
                frames += len(packets)
                seg_start = min(p.pts for p in packets if p.pts is not None)
                if timed and first_pts[k] is not None:  # where its first frame belongs
                    want = (Fraction(first_pts[k]) * source.time_base - start) / base
                    shift = int(round(want)) - seg_start
                else:
                    shift = 0 if end is None or seg_start >= end else end - seg_start
                for packet in packets:
                    if packet.pts is not None:
                        packet.pts += shift
                    if packet.dts is not None:
                        packet.dts += shift
                        if last_dts is not None and packet.dts <= last_dts:
                            packet.dts = last_dts + 1
                        last_dts = packet.dts
                    reached = None
                    if packet.pts is not None:
                        finish = packet.pts + (packet.duration or 0)
                        end = finish if end is None else max(end, finish)
                        reached = float(finish * base)
                        now = float(packet.pts * base)
                        last_time = now if last_time is None else max(last_time, now)
                    packet.stream = out_stream
                    output.mux(packet)  # (rescales the packet's timestamps in place)
                    if carrier is not None and reached is not None:
                        carrier.mux_until(reached)
        if carrier is not None:
            stop = None
            if trim_end:  # as VideoFileWriter: the end of the last frame, in source time
                length = 1 / float(rate) if rate else 0.0
                stop = float(start) + (last_time + length if timed else frames * length)
            carrier.finish(stop)
        output.close()
    except BaseException:
        if carrier is not None:
            carrier.close()
        try:
            output.close()
        except Exception:  # noqa: BLE001  (the file is deleted by the caller)
            pass
        raise
    if carrier is None:
        return None, []
    try:
        with av.open(str(output_temp)) as written:
            frame = next(written.decode(video=0), None)
        if frame is not None:
            carrier.check_rotation(frame)
    except av.error.FFmpegError:
        pass
    return carrier.audio_mode, carrier.uncarried


def join_frame_segments(segments: List[Path], folder_temp: Path) -> None:
    """Put the PNG frames of folder segments into one folder (the output's temporary path).

    Args:
        segments (list[Path]): The segment folders in order.
        folder_temp (Path): The folder to fill.
    """
    for segment in segments:
        for file in sorted(segment.iterdir()):
            if file.suffix == '.png':
                try:  # a hard link: the segments stay whole until the output is committed
                    os.link(file, folder_temp / file.name)
                except OSError:
                    shutil.copy2(file, folder_temp / file.name)
