"""``realbasicvsr``: restore a video, a folder of frames or an image from the command line.

Examples::

    realbasicvsr input.mp4 output.mp4 --model realbasicvsr
    realbasicvsr a.mp4 b.mkv frames_in/ -o restored/ --model realbasicvsr
    realbasicvsr input.mp4 output.mp4 --resume          # after a crash or kill
    realbasicvsr input.mp4 frames_out/ --checkpoint model.pth --config config.py
    realbasicvsr frames_in/ output.mkv --fps 30 --codec libx265 --crf 20
    realbasicvsr big.mp4 out.mp4 --device cuda --fp16 --tile 256 --max-seq-len 20

Exit statuses, one rule:

* 0: the output was written;
* 2: the command line itself is malformed (an unknown option, a missing argument, a value that
  is not a number where one is expected, two options that exclude each other): argparse's usage
  line and message;
* 1: the command line is well formed but the command refuses or fails: a bad input or output
  path, an option value outside its working range (``--fps 100000``, ``--tile 3``), a model that
  does not load, a failure while running: one line on stderr, naming the file or the flag;
* 130 after Ctrl-C (SIGINT), 143 after SIGTERM: acted on within about a second (see
  :mod:`.cancellation`), with the unfinished output removed.

``--debug`` shows tracebacks, Python warnings and FFmpeg's log instead of the one line.
"""
import argparse
import contextlib
import logging
import re
import signal
import sys
import threading
import traceback
import warnings
from typing import Iterator, List, Optional

from .cancellation import check_termination, request_stop, reset_termination
from .errors import InferenceError
from .inference import INFERENCE_DEFAULTS
from .option_checks import FPS_RANGE, MAX_PASSES_LIMIT
from .segments import DEFAULT_SEGMENT_FRAMES

PROG = 'realbasicvsr'


def _whole_number(text: str) -> int:
    """Parse a whole number (its range is checked with the other options, see module doc)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None


def _number(text: str) -> float:
    """Parse a number (its range is checked with the other options, see module doc)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None


def build_parser() -> argparse.ArgumentParser:
    """The command line's argument parser.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    d = INFERENCE_DEFAULTS
    parser = argparse.ArgumentParser(
        prog=PROG, description='Real-world video super-resolution with RealBasicVSR, '
        'streamed frame by frame so memory does not grow with the video length.')
    parser.add_argument('paths', nargs='*', metavar='PATH',
                        help='INPUT OUTPUT, or INPUT [INPUT ...] with -o OUT_DIR. An input is a '
                        'video file, a folder of frames, or an image; the output a video file '
                        '(.mp4, .mkv, .mov, .avi, .webm), a folder for PNG frames (no '
                        'extension), or an image file for a one-frame input')
    parser.add_argument('-o', '--output-dir', metavar='OUT_DIR',
                        help='restore every PATH into this folder, each output named after its '
                        'input; a failing input is reported and the others go on')

    model = parser.add_argument_group('model')
    model.add_argument('--model', dest='model_name', metavar='NAME',
                       help='a released RealBasicVSR model by name, downloaded once and '
                       'verified (see --list-models); instead of --checkpoint/--config')
    model.add_argument('--list-models', action='store_true',
                       help='list the released models and exit')
    model.add_argument('--checkpoint', help='checkpoint path or URL (default: the demo model '
                       'shipped with the package)')
    model.add_argument('--config', help="plugin config whose model.generator is the network "
                       "(default: the demo model's; with --checkpoint alone, the paper's "
                       'architecture)')
    model.add_argument('--trust-checkpoint', action='store_true',
                       help='unpickle the checkpoint fully, Python objects included (only for '
                       'files from a source you trust; by default only weights are read)')
    model.add_argument('--device', default='auto',
                       help="'auto' (default: CUDA if present), 'cpu', 'cuda' or 'cuda:N'")
    prec = model.add_mutually_exclusive_group()
    # (fp32 unless one of these is given)
    prec.add_argument('--fp16', dest='precision', action='store_const', const='fp16',
                      help='float16 autocast (CUDA GPUs only)')
    prec.add_argument('--bf16', dest='precision', action='store_const', const='bf16',
                      help='bfloat16 autocast (CUDA GPUs, and CPUs with native bfloat16: '
                      'AVX512-BF16 or AMX, where it is ~1.7x faster than fp32)')
    model.add_argument('--dynamic-refine-thres', '--refine-threshold', default=None,
                       metavar='T',
                       help="theta of dynamic refinement (Eq. 5) on the 0-255 scale, or 'off' for one "
                       "cleaning pass (default: the config's; --refine-threshold is an older name)")
    model.add_argument('--max-passes', type=_whole_number, default=None,
                       help=f"maximum cleaning passes, 1 to {MAX_PASSES_LIMIT} (default: the "
                       "config's)")
    model.add_argument('--backend', choices=('pytorch', 'onnxruntime'), default='pytorch',
                       help='pytorch (default), or onnxruntime to run the ONNX graphs of --onnx')
    model.add_argument('--onnx', metavar='DIR', help='folder written by realbasicvsr-export '
                       '(for --backend onnxruntime)')
    model.add_argument('--providers', default=None, help='ONNX Runtime execution providers '
                       "in order, comma-separated: tensorrt, cuda, cpu (default: 'auto', those "
                       'installed); --fp16 builds TensorRT float16 engines')
    model.add_argument('--trt-cache', metavar='DIR', default=None,
                       help='TensorRT engine cache folder (default: <plugin cache>/tensorrt)')

    stream = parser.add_argument_group('streaming')
    stream.add_argument('--max-memory', default=None, metavar='SIZE',
                        help='memory budget of the whole run, e.g. 6G or 512M: peak resident '
                        'memory on a CPU, peak allocated memory on a GPU; chooses the chunk '
                        'length and, only when needed, tiles (default: 80%% of the available '
                        'RAM or free GPU memory)')
    stream.add_argument('--max-seq-len', type=_whole_number, default=None,
                        help="frames per temporal chunk, 0 for the whole clip at once "
                        "(default: the longest, up to 32, that --max-memory allows)")
    stream.add_argument('--overlap', type=_whole_number, default=None,
                        help=f"frames shared by consecutive chunks (default: {d['overlap']})")
    stream.add_argument('--tile', type=_whole_number, default=None,
                        help='tile size in input pixels for large frames: 0 for no tiling, or '
                        "at least the network's smallest input (64 for RealBasicVSRNet) "
                        '(default: tiles only when --max-memory needs them)')
    stream.add_argument('--scene-cuts', default=None, metavar='T',
                        help="scene-cut threshold in (0, 1] (histogram distance of consecutive "
                        "frames), or 'off'; chunks end at cuts (default: 0.4)")
    stream.add_argument('--tile-overlap', type=_whole_number, default=None,
                        help=f"overlap of tiles in input pixels (default: {d['tile_overlap']})")
    stream.add_argument('--start', type=_whole_number, default=0,
                        help='first frame to restore (0-based; default: 0)')
    stream.add_argument('--end', type=_whole_number, default=None,
                        help='frame index one past the last frame to restore')
    stream.add_argument('--resume', action='store_true',
                        help='continue an interrupted run (crash, Ctrl-C, kill) from its work '
                        'folder beside the output, with the same input, model and options')
    stream.add_argument('--segment-frames', type=_whole_number, default=None,
                        help='output frames per segment of a long job, the unit a resumed run '
                        f'restarts from (default: {DEFAULT_SEGMENT_FRAMES}; 0: no segments)')

    out = parser.add_argument_group('output video')
    out.add_argument('--codec', default=None,
                     help='video encoder, e.g. libx264, libx265, libvpx-vp9, mpeg4 '
                     '(default: libx264 where the container allows it)')
    rate = out.add_mutually_exclusive_group()
    rate.add_argument('--crf', type=_whole_number, default=None,
                      help='constant rate factor, lower is better (default: 18 for x264/x265/'
                      'VP9/AV1)')
    rate.add_argument('--bitrate', default=None, help='target bit rate, e.g. 8M or 800k')
    out.add_argument('--pix-fmt', default=None,
                     help="pixel format (default: 4:2:0 at the source's bit depth where the "
                     'codec can, e.g. yuv420p10le for a 10-bit source with libx264; else '
                     'yuv420p)')
    out.add_argument('--fps', type=_number, default=None,
                     help=f"force a constant frame rate, {float(FPS_RANGE[0]):g} to "
                     f"{float(FPS_RANGE[1]):g} (default: keep the source's timestamps; "
                     '25 for images)')
    out.add_argument('--no-audio', action='store_true',
                     help="do not carry the source's audio over (default: carry it, copied, or "
                     'transcoded to AAC where the container needs it)')
    out.add_argument('--png-compression', type=_whole_number, default=3,
                     metavar='0-9', help='PNG compression level for frame folders (default: 3)')
    out.add_argument('--png-bit-depth', type=int, default=None, choices=(8, 16),
                     help='bits per channel of PNG frames (default: 16 for sources of more '
                     'than 8 bits, else 8)')
    out.add_argument('--overwrite', action='store_true', help='replace an existing output')

    misc = parser.add_argument_group('other')
    misc.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    misc.add_argument('--quiet', action='store_true', help='print nothing on success')
    misc.add_argument('--debug', action='store_true', help='show tracebacks of errors')
    parser.set_defaults(precision='fp32')
    return parser


#: API parameters whose command-line flag is not ``--`` + the name with dashes.
PARAM_FLAGS = {'precision': '--fp16/--bf16', 'input': 'INPUT', 'output': 'OUTPUT',
               'audio': '--no-audio', 'progress': '--no-progress', 'model_name': '--model',
               'inputs': 'INPUT', 'output_dir': '--output-dir'}


def flag_for(param: str) -> str:
    """The command-line flag of an API parameter of ``super_resolve`` (``max_seq_len`` ->
    ``--max-seq-len``).

    Args:
        param (str): The parameter's name.

    Returns:
        str: The flag (or the positional argument's name).
    """
    return PARAM_FLAGS.get(param, '--' + param.replace('_', '-'))


def error_line(err: BaseException) -> str:
    """One line describing ``err`` for the user, in the command line's terms.

    The API parameters an :class:`InferenceError` is about are replaced by their flags
    (``overwrite=True`` and ``overwrite`` both become ``--overwrite``).

    Args:
        err (BaseException): The error.

    Returns:
        str: The message, without traceback.
    """
    text = ' '.join(str(err).split()) if str(err).strip() else ''
    if isinstance(err, InferenceError):
        if 'precision' in err.params:  # the values of one parameter are separate flags here
            text = re.sub(r"precision '(fp16|bf16)'", r'--\1', text)
            text = text.replace("precision 'fp32'", 'fp32 (neither --fp16 nor --bf16)')
        for param in err.params:
            text = re.sub(rf'(?<![\w-]){re.escape(param)}(?:=True)?(?![\w-])', flag_for(param),
                          text)
        return text
    if isinstance(err, OSError) and err.strerror:
        name = f": '{err.filename}'" if getattr(err, 'filename', None) else ''
        return f'{err.strerror}{name}'
    detail = f': {text}' if text else ''
    return f'{type(err).__name__}{detail} (run with --debug for the traceback)'


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM (``kill``, ``timeout``, service managers) and SIGINT (Ctrl-C) into a prompt,
    clean stop (see :mod:`.cancellation`), and restore the previous handlers afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        request_stop(signum)

    reset_termination()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
        check_termination()  # a request that came after the last frame
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        reset_termination()


class _Collect(logging.Handler):
    """A logging handler that keeps the records instead of printing them."""

    def __init__(self) -> None:
        super().__init__()
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _quiet_libraries(debug: bool) -> Iterator[list]:
    """Hold back Python warnings (torch's UserWarnings, ...) and FFmpeg's log lines (which PyAV
    hands to the ``libav`` logger, printed by Python's last-resort handler when nothing else
    takes them), so that an error is the one line the command prints; the warnings are returned
    for a successful run.

    Args:
        debug (bool): Let everything through (``--debug``).

    Yields:
        list[warnings.WarningMessage]: The warnings caught.
    """
    if debug:
        yield []
        return
    logger = logging.getLogger('libav')
    collect, propagate = _Collect(), logger.propagate
    logger.addHandler(collect)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('default')
            yield caught
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    """Parse the command line and check the shape of its paths."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.input = args.output = None
    if args.list_models:
        return args
    if args.output_dir is not None:
        if not args.paths:
            parser.error('give at least one INPUT with -o/--output-dir')
    elif len(args.paths) == 2:
        args.input, args.output = args.paths
    elif len(args.paths) < 2:
        parser.error('give INPUT OUTPUT, or INPUT [INPUT ...] -o OUT_DIR')
    else:
        parser.error(f'{len(args.paths)} paths given: several inputs need -o OUT_DIR '
                     '(INPUT [INPUT ...] -o OUT_DIR)')
    return args


def list_models_text() -> str:
    """The table printed by ``--list-models``.

    Returns:
        str: One line per released model: name, test threshold, description, URL.
    """
    from .official_models import OFFICIAL_MODELS

    width = max(len(name) for name in OFFICIAL_MODELS)
    lines = []
    for name, entry in OFFICIAL_MODELS.items():
        lines.append(f'{name:<{width}}  {entry.description}')
        lines.append(f'{"":<{width}}  {entry.url()}')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: Exit status (see the module's documentation): 0 on success, 1 on an error of the input,
        output or an option's value (with several inputs: if any failed), 2 on a malformed
        command line (argparse's usage error, raised as ``SystemExit(2)``), 130 after Ctrl-C,
        143 after SIGTERM.
    """
    args = _parse(argv)  # a malformed command line exits here, status 2
    if args.list_models:
        print(list_models_text())
        return 0
    debug = args.debug
    try:
        with _stop_on_signals():
            with _quiet_libraries(debug) as caught:
                if args.output_dir is not None:
                    return _run_many(args)
                summary = _run(args)
    except KeyboardInterrupt as interrupt:
        if debug:
            raise
        signum = getattr(interrupt, 'signum', signal.SIGINT)
        what = 'terminated' if signum == signal.SIGTERM else 'interrupted'
        print(f'{PROG}: {what}; {_unfinished_note(args)}', file=sys.stderr)
        return 128 + signum
    except Exception as err:  # noqa: BLE001  (every failure becomes one line unless --debug)
        if debug:
            raise
        print(f'{PROG}: error: {error_line(err)}', file=sys.stderr)
        return 1
    _print_warnings(summary)
    if not args.quiet:
        for line in dict.fromkeys(f'{w.category.__name__}: {w.message}' for w in caught):
            print(f'{PROG}: warning: {" ".join(line.split())}', file=sys.stderr)
        print(f'{PROG}: {_summary_line(summary)}', file=sys.stderr)
    return 0


def _print_warnings(summary) -> None:
    """Print a run's warnings, one line each: malformed metadata of the source (the line names
    it) and what the output could not carry (the line names the output)."""
    for line in summary.warnings:
        print(f'{PROG}: warning: {line}', file=sys.stderr)


def _summary_line(summary) -> str:
    extra = f', audio {summary.audio}' if summary.audio else ''
    passes = f', {summary.mean_passes:.2f} cleaning passes/frame' \
        if summary.mean_passes is not None else ''
    if summary.resumed_frames:
        extra += f', resumed after {summary.resumed_frames} frame(s) done before'
    return (f'wrote {summary.frames} frame(s) of {summary.output_size[0]}x'
            f'{summary.output_size[1]} to {summary.output} in {summary.seconds:.1f} s '
            f'({summary.fps:.2f} frames/s{extra}{passes})')


def _unfinished_note(args: argparse.Namespace) -> str:
    """What an interrupted run left: nothing, or segments that ``--resume`` continues."""
    from pathlib import Path

    from .segments import work_folder_for

    outputs = [Path(args.output)] if args.output else []
    if args.output_dir is not None:
        from .inference import batch_output_path
        outputs = [batch_output_path(p, args.output_dir) for p in args.paths]
    kept = [work_folder_for(o) for o in outputs if (work_folder_for(o) / 'settings.json').is_file()]
    if kept:
        return (f"the finished segments are kept in '{kept[0]}'; run the same command with "
                '--resume to continue')
    return 'no output was written'


def _options(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``super_resolve`` that the command line sets."""
    return dict(
        config=args.config, checkpoint=args.checkpoint, model_name=args.model_name,
        trust_checkpoint=args.trust_checkpoint, device=args.device,
        precision=args.precision, max_seq_len=args.max_seq_len, overlap=args.overlap,
        tile=args.tile, tile_overlap=args.tile_overlap,
        dynamic_refine_thres=args.dynamic_refine_thres, max_passes=args.max_passes,
        start=args.start, end=args.end, codec=args.codec, crf=args.crf,
        bitrate=args.bitrate, pix_fmt=args.pix_fmt, fps=args.fps, audio=not args.no_audio,
        overwrite=args.overwrite, progress=not (args.no_progress or args.quiet),
        png_compression=args.png_compression, png_bit_depth=args.png_bit_depth,
        max_memory=args.max_memory, scene_cuts=args.scene_cuts, resume=args.resume,
        segment_frames=args.segment_frames, backend=args.backend, onnx=args.onnx,
        providers=args.providers, trt_cache=args.trt_cache)


def _run(args: argparse.Namespace):
    """Call :func:`~realbasicvsr_plugin.apis.inference.super_resolve` with the parsed options."""
    from .inference import super_resolve

    return super_resolve(args.input, args.output, **_options(args))


def _run_many(args: argparse.Namespace) -> int:
    """Restore every input into ``--output-dir``: one line per input, then a summary table."""
    from .inference import super_resolve_many

    def report(result) -> None:
        if result.status == 'failed':
            if args.debug:
                traceback.print_exception(result.error, file=sys.stderr)
            print(f'{PROG}: error: {result.input}: {error_line(result.error)}', file=sys.stderr)
            return
        if result.summary is not None:
            _print_warnings(result.summary)
        if not args.quiet:
            line = _summary_line(result.summary) if result.summary is not None else \
                f'{result.output} already done, skipped'
            print(f'{PROG}: {line}', file=sys.stderr)

    results = super_resolve_many(args.paths, args.output_dir, on_result=report,
                                 **_options(args))
    failed = sum(not r.ok for r in results)
    if not args.quiet or failed:
        print(batch_table(results), file=sys.stderr)
    return 1 if failed else 0


def batch_table(results) -> str:
    """The summary table of a batch: one row per input, then the totals.

    The ``warnings`` column counts the warnings printed for an input (what its output could not
    carry, malformed metadata of its source).

    Args:
        results (list[BatchResult]): From ``super_resolve_many``.

    Returns:
        str: The table.
    """
    rows = [('status', 'input', 'output', 'frames', 'seconds', 'frames/s', 'warnings')]
    for r in results:
        s = r.summary
        rows.append((r.status, str(r.input), str(r.output), str(s.frames) if s else '-',
                     f'{s.seconds:.1f}' if s else '-', f'{s.fps:.2f}' if s else '-',
                     str(len(s.warnings)) if s and s.warnings else '-'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    failed = sum(not r.ok for r in results)
    warned = sum(bool(r.summary is not None and r.summary.warnings) for r in results)
    lines.append(f'{len(results)} input(s): {len(results) - failed} ok, {failed} failed'
                 + (f', {warned} with warnings' if warned else ''))
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
