"""The types and working ranges of :func:`~realbasicvsr_plugin.apis.super_resolve`'s options.

Every option is checked before any file is opened, so that a value that would fail late, or
produce a broken file, fails at once with one line naming the parameter (the command line names
its flag instead). Options that depend on the network (the smallest useful tile) are checked as
soon as the network is known, before any frame is restored.
"""
import math
import numbers
import os
from fractions import Fraction
from typing import Any, Mapping, Optional, Union

from torch import nn

from .errors import InferenceError

#: Output frame rates that every container takes (frames per second, inclusive). Above 1000,
#: Matroska's millisecond time stamps no longer tell frames apart (and #19 saw an MP4 decode to
#: no frames at 100000); FFmpeg's MP4 muxer refuses rates from about 1e-5 down (measured with
#: PyAV 18). One frame per 100 s to 1000 frames per second keeps well inside both.
FPS_RANGE = (Fraction(1, 100), Fraction(1000))

#: The most cleaning passes one may ask for (each pass runs the whole cleaning module again;
#: the paper uses up to 3).
MAX_PASSES_LIMIT = 20

#: Integer options: (smallest, largest) value, None for no bound.
_INT_RANGES = {
    'max_seq_len': (0, None),
    'overlap': (0, None),
    'tile': (0, None),
    'tile_overlap': (0, None),
    'max_passes': (1, MAX_PASSES_LIMIT),
    'start': (0, None),
    'end': (1, None),
    'crf': (0, 63),
    'png_compression': (0, 9),
}
#: Options that may also be ``'auto'``: chosen from the memory budget (see memory_budget.py).
_AUTO = ('max_seq_len', 'tile')
_BOOLS = ('trust_checkpoint', 'audio', 'overwrite', 'progress')
_STRINGS = ('codec', 'pix_fmt', 'precision')


def _given(value: Any) -> Any:
    """An option's explicit value, None where it is chosen from the memory budget."""
    return None if value == 'auto' else value


def _describe(value: Any) -> str:
    return f'{value!r} ({type(value).__name__})'


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_path(name: str, value: Any, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or value == '':
        raise InferenceError(f'{name} must be a path (str or os.PathLike), got '
                             f'{_describe(value)}', param=name)


def _check_int(name: str, value: Any) -> None:
    low, high = _INT_RANGES[name]
    if not _is_int(value):
        raise InferenceError(f'{name} must be a whole number, got {_describe(value)}',
                             param=name)
    if value < low or (high is not None and value > high):
        bound = f'in {low}..{high}' if high is not None else f'>= {low}'
        raise InferenceError(f'{name} must be {bound}, got {value}', param=name)


def check_fps(fps: Any) -> Optional[Fraction]:
    """Check an output frame rate and return it as an exact fraction.

    Args:
        fps (float | Fraction | int | None): Frames per second, or None for the source's.

    Returns:
        Fraction | None: The rate.

    Raises:
        InferenceError: Not a number, not finite, or outside :data:`FPS_RANGE`.
    """
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise InferenceError(f'fps must be a number, got {_describe(fps)}', param='fps')
    if not math.isfinite(fps):
        raise InferenceError(f'fps must be a finite number, got {fps}', param='fps')
    rate = Fraction(fps).limit_denominator(1001000)
    low, high = FPS_RANGE
    if not low <= rate <= high:
        raise InferenceError(f'fps must be between {float(low):g} and {float(high):g} frames '
                             f'per second, got {float(fps):g}', param='fps')
    return rate


def parse_dynamic_refine_thres(value: Any) -> Union[None, float, str]:
    """Read a dynamic-refinement threshold option: ``None`` (keep the network's), ``'off'``
    (one cleaning pass), or a number or its text, checked by the network's own rule
    (:func:`~realbasicvsr_plugin.models.realbasicvsr_net.check_refinement`).

    Args:
        value: The option's value.

    Returns:
        None | float | str: ``None``, the threshold, or ``'off'``.

    Raises:
        InferenceError: Anything else, naming ``dynamic_refine_thres``.
    """
    from realbasicvsr_plugin.models.realbasicvsr_net import check_refinement

    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in ('off', 'none'):
            return 'off'
        try:
            value = float(value)
        except ValueError:
            raise InferenceError(f"dynamic_refine_thres must be a number or 'off', got "
                                 f"'{value}'", param='dynamic_refine_thres') from None
    try:
        check_refinement(value)
    except ValueError as err:
        raise InferenceError(f"{err} (or 'off')", param='dynamic_refine_thres') from None
    return float(value)


def check_options(options: Mapping[str, Any]) -> None:
    """Check the types and ranges of the options of ``super_resolve`` that are given.

    Options missing from ``options`` or None (meaning "the default") are not checked, except
    ``input`` and ``output``, which are required.

    Args:
        options (Mapping[str, Any]): Parameter name -> value.

    Raises:
        InferenceError: The first bad option, named by its parameter.
    """
    for name in ('input', 'output'):
        if name in options:
            _check_path(name, options[name], optional=False)
    for name in ('config', 'checkpoint'):
        value = options.get(name)
        if value is not None and not isinstance(value, (str, os.PathLike, Mapping)) \
                and type(value).__name__ != 'Config':
            raise InferenceError(f'{name} must be a path, got {_describe(value)}', param=name)
    model = options.get('model')
    if model is not None and not isinstance(model, nn.Module):
        raise InferenceError(f'model must be a torch.nn.Module, got {_describe(model)}',
                             param='model')
    for name in _BOOLS:
        if name in options and not isinstance(options[name], bool):
            raise InferenceError(f'{name} must be True or False, got {_describe(options[name])}',
                                 param=name)
    for name in _STRINGS:
        value = options.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InferenceError(f'{name} must be a non-empty string, got {_describe(value)}',
                                 param=name)
    device = options.get('device')
    if device is not None and not isinstance(device, str) and type(device).__name__ != 'device':
        raise InferenceError(f"device must be a string such as 'cpu' or 'cuda:0', got "
                             f'{_describe(device)}', param='device')
    for name in _INT_RANGES:
        if options.get(name) is not None and not (name in _AUTO and options[name] == 'auto'):
            _check_int(name, options[name])
    start, end = options.get('start') or 0, options.get('end')
    if end is not None and end <= start:
        raise InferenceError(f'end ({end}) must be greater than start ({start})',
                             param=('end', 'start'))
    max_seq_len, overlap = _given(options.get('max_seq_len')), options.get('overlap')
    if max_seq_len and overlap is not None and overlap >= max_seq_len:
        raise InferenceError(f'overlap ({overlap}) must be smaller than max_seq_len '
                             f'({max_seq_len})', param=('overlap', 'max_seq_len'))
    tile, tile_overlap = _given(options.get('tile')), options.get('tile_overlap')
    if tile and tile_overlap is not None and 2 * tile_overlap > tile:
        raise InferenceError(f'tile_overlap must be at most half of tile ({tile // 2} for a '
                             f'tile of {tile}), got {tile_overlap}', param=('tile_overlap', 'tile'))
    bitrate = options.get('bitrate')
    if bitrate is not None and (isinstance(bitrate, bool)
                                or not isinstance(bitrate, (str, numbers.Integral))):
        raise InferenceError(f"bitrate must be a number of bits per second or a string such as "
                             f"'8M', got {_describe(bitrate)}", param='bitrate')
    if options.get('crf') is not None and bitrate is not None:
        raise InferenceError('give either crf or bitrate, not both', param=('crf', 'bitrate'))
    check_fps(options.get('fps'))
    parse_dynamic_refine_thres(options.get('dynamic_refine_thres'))


def check_tile_for_model(tile: Optional[int], model: nn.Module) -> None:
    """Refuse tiles smaller than the network's smallest input (they would be padded up to it,
    repeating most of the work for every tile).

    Args:
        tile (int | None): The tile size in input pixels (0 or None: no tiling).
        model (nn.Module): The network; its ``min_size`` attribute, if any, is the smallest input.

    Raises:
        InferenceError: ``0 < tile < model.min_size``.
    """
    min_size = getattr(model, 'min_size', None)
    if _given(tile) and _is_int(min_size) and tile < min_size:
        raise InferenceError(f'tile must be 0 or at least {min_size} (the network pads smaller '
                             f'tiles up to {min_size} pixels), got {tile}', param='tile')
