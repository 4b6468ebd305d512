"""``realbasicvsr``: restore a video, a folder of frames or an image from the command line.

Examples::

    realbasicvsr input.mp4 output.mp4
    realbasicvsr input.mp4 frames_out/ --checkpoint model.pth --config config.py
    realbasicvsr frames_in/ output.mkv --fps 30 --codec libx265 --crf 20
    realbasicvsr big.mp4 out.mp4 --device cuda --fp16 --tile 256 --max-seq-len 20

A problem with the input, output or options is reported as one line on stderr with exit
status 1 (130 after Ctrl-C, 143 after SIGTERM, with the unfinished output removed);
``--debug`` shows the traceback instead.
"""
import argparse
import contextlib
import re
import signal
import sys
import threading
from typing import Iterator, List, Optional

from .cancellation import (Terminated, check_termination, request_termination,
                           reset_termination)
from .errors import InferenceError
from .inference import INFERENCE_DEFAULTS

PROG = 'realbasicvsr'


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'expected a number >= 0, got {value}')
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError('expected a number >= 1, got 0')
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f'expected a number > 0, got {text}')
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line's argument parser.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    d = INFERENCE_DEFAULTS
    parser = argparse.ArgumentParser(
        prog=PROG, description='Real-world video super-resolution with RealBasicVSR, '
        'streamed frame by frame so memory does not grow with the video length.')
    parser.add_argument('input', help='video file, folder of frames, or image')
    parser.add_argument('output', help='video file (.mp4, .mkv, .mov, .avi, .webm), a folder '
                        'for PNG frames (no extension), or an image file for a one-frame input')

    model = parser.add_argument_group('model')
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
    model.add_argument('--refine-threshold', default=None, metavar='T',
                       help="dynamic-refinement threshold on the 0-255 scale, or 'off' for one "
                       "cleaning pass (default: the config's)")
    model.add_argument('--max-passes', type=_positive_int, default=None,
                       help="maximum cleaning passes (default: the config's)")
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
    stream.add_argument('--max-seq-len', type=_non_negative_int, default=None,
                        help=f"frames per temporal chunk, 0 for the whole clip at once "
                        f"(default: {d['max_seq_len']})")
    stream.add_argument('--overlap', type=_non_negative_int, default=None,
                        help=f"frames shared by consecutive chunks (default: {d['overlap']})")
    stream.add_argument('--tile', type=_non_negative_int, default=None,
                        help='tile size in input pixels for large frames, 0 for no tiling '
                        f"(default: {d['tile']})")
    stream.add_argument('--tile-overlap', type=_non_negative_int, default=None,
                        help=f"overlap of tiles in input pixels (default: {d['tile_overlap']})")
    stream.add_argument('--start', type=_non_negative_int, default=0,
                        help='first frame to restore (0-based; default: 0)')
    stream.add_argument('--end', type=_positive_int, default=None,
                        help='frame index one past the last frame to restore')

    out = parser.add_argument_group('output video')
    out.add_argument('--codec', default=None,
                     help='video encoder, e.g. libx264, libx265, libvpx-vp9, mpeg4 '
                     '(default: libx264 where the container allows it)')
    rate = out.add_mutually_exclusive_group()
    rate.add_argument('--crf', type=_non_negative_int, default=None,
                      help='constant rate factor, lower is better (default: 18 for x264/x265/'
                      'VP9/AV1)')
    rate.add_argument('--bitrate', default=None, help='target bit rate, e.g. 8M or 800k')
    out.add_argument('--pix-fmt', default=None, help="pixel format (default: yuv420p)")
    out.add_argument('--fps', type=_positive_float, default=None,
                     help="frame rate (default: the source's; 25 for images)")
    out.add_argument('--no-audio', action='store_true',
                     help="do not carry the source's audio over (default: carry it, copied, or "
                     'transcoded to AAC where the container needs it)')
    out.add_argument('--png-compression', type=int, default=3, choices=range(10),
                     metavar='0-9', help='PNG compression level for frame folders (default: 3)')
    out.add_argument('--overwrite', action='store_true', help='replace an existing output')

    misc = parser.add_argument_group('other')
    misc.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    misc.add_argument('--quiet', action='store_true', help='print nothing on success')
    misc.add_argument('--debug', action='store_true', help='show tracebacks of errors')
    parser.set_defaults(precision='fp32')
    return parser


#: API parameters whose command-line flag is not ``--`` + the name with dashes.
PARAM_FLAGS = {'precision': '--fp16/--bf16', 'input': 'INPUT', 'output': 'OUTPUT',
               'audio': '--no-audio', 'progress': '--no-progress'}


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
    """One line describing ``err`` for the user.

    Args:
        err (BaseException): The error.

    Returns:
        str: The message, without traceback.
    """
    text = ' '.join(str(err).split()) if str(err).strip() else ''
    if isinstance(err, InferenceError):
        if err.param:
            text = re.sub(rf'(?<![\w-]){re.escape(err.param)}(?![\w-])', flag_for(err.param), text)
        return text
    if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
        name = f": '{err.filename}'" if getattr(err, 'filename', None) else ''
        return f'{err.strerror or text}{name}'
    detail = f': {text}' if text else ''
    return f'{type(err).__name__}{detail} (run with --debug for the traceback)'


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (``kill``, ``timeout``, container stops) into :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        request_termination()  # acted on between frames (see cancellation.py)

    reset_termination()
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
        check_termination()  # a request that came after the last frame
    finally:
        signal.signal(signal.SIGTERM, previous)
        reset_termination()


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: Exit status: 0 on success, 1 on an error, 130 after Ctrl-C, 143 after SIGTERM.
    """
    args = build_parser().parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            summary = _run(args)
    except KeyboardInterrupt as interrupt:
        if args.debug:
            raise
        what = 'terminated' if isinstance(interrupt, Terminated) else 'interrupted'
        print(f'{PROG}: {what}; no output was written', file=sys.stderr)
        return 143 if isinstance(interrupt, Terminated) else 130
    except Exception as err:  # noqa: BLE001  (every failure becomes one line unless --debug)
        if args.debug:
            raise
        print(f'{PROG}: error: {error_line(err)}', file=sys.stderr)
        return 1
    if not args.quiet:
        extra = f', audio {summary.audio}' if summary.audio else ''
        passes = f', {summary.mean_passes:.2f} cleaning passes/frame' \
            if summary.mean_passes is not None else ''
        print(f'{PROG}: wrote {summary.frames} frame(s) of {summary.output_size[0]}x'
              f'{summary.output_size[1]} to {summary.output} in {summary.seconds:.1f} s '
              f'({summary.fps:.2f} frames/s{extra}{passes})', file=sys.stderr)
    return 0


def _run(args: argparse.Namespace):
    """Call :func:`~realbasicvsr_plugin.apis.inference.super_resolve` with the parsed options."""
    from .inference import super_resolve

    return super_resolve(
        args.input, args.output, config=args.config, checkpoint=args.checkpoint,
        trust_checkpoint=args.trust_checkpoint, device=args.device,
        precision=args.precision, max_seq_len=args.max_seq_len, overlap=args.overlap,
        tile=args.tile, tile_overlap=args.tile_overlap,
        refine_threshold=args.refine_threshold, max_passes=args.max_passes,
        start=args.start, end=args.end, codec=args.codec, crf=args.crf,
        bitrate=args.bitrate, pix_fmt=args.pix_fmt, fps=args.fps, audio=not args.no_audio,
        overwrite=args.overwrite, progress=not (args.no_progress or args.quiet),
        png_compression=args.png_compression, backend=args.backend, onnx=args.onnx,
        providers=args.providers, trt_cache=args.trt_cache)


if __name__ == '__main__':
    sys.exit(main())
