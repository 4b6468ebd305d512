"""A clip of frames: checking it, and moving between a frame list and one array.

MMagic's pipelines keep a clip as a list of ``H x W x C`` (or ``H x W``) numpy arrays under a key
such as ``'img'`` or ``'gt'``. The plugin's degradations check the clip once, work on the frames
as a sequence (per-frame OpenCV calls) or as one ``T x H x W x C`` array (calls over the whole
clip), and hand back a list of per-frame views of one array: the next plugin transform takes that
array back without copying it, and any MMagic transform still sees an ordinary list of frames.
"""
from typing import List, Sequence, Tuple, Union

import numpy as np

Frames = Union[np.ndarray, Sequence[np.ndarray]]


def _common_base(frames: Sequence[np.ndarray]) -> Union[np.ndarray, None]:
    """Return the clip array the frames are consecutive views of, if they are.

    Args:
        frames (Sequence[np.ndarray]): Frames, possibly produced by :func:`unstack_frames`.

    Returns:
        np.ndarray | None: The ``T x H x W x C`` array whose ``i``-th entry is ``frames[i]``, or
        None when the frames are separate arrays.
    """
    base = frames[0].base
    if (not isinstance(base, np.ndarray) or base.ndim != 4 or base.shape[0] != len(frames)
            or not base.flags.c_contiguous or base.shape[1:] != frames[0].shape):
        return None
    start = base.__array_interface__['data'][0]
    stride = base.strides[0]
    for i, frame in enumerate(frames):
        if (frame.base is not base or frame.dtype != base.dtype
                or frame.__array_interface__['data'][0] != start + i * stride):
            return None
    return base


def check_frames(frames: Frames, key: str = 'img',
                 owner: str = 'transform') -> Tuple[Union[np.ndarray, List[np.ndarray]], bool,
                                                    bool]:
    """Check a clip (a frame list or one frame) and give its frames an explicit channel axis.

    Args:
        frames (np.ndarray | Sequence[np.ndarray]): One ``H x W (x C)`` frame or a list of them.
        key (str): The results key the frames came from, used in error messages.
        owner (str): The name of the calling transform, used in error messages.

    Returns:
        tuple: The frames as a sequence of ``H x W x C`` arrays (the ``T x H x W x C`` array
        itself when the frames are consecutive views of one; callers must not modify it in
        place), whether the input was a single frame, and whether the frames had no channel axis.

    Raises:
        TypeError: If the frames are not numpy arrays.
        ValueError: If the clip is empty or its frames differ in size or dtype.
    """
    single = isinstance(frames, np.ndarray)
    if single:
        frames = [frames]
    if not isinstance(frames, (list, tuple)):
        raise TypeError(f'{owner}: results[{key!r}] must be a numpy array or a list of numpy '
                        f'arrays, got {type(frames).__name__}')
    if len(frames) == 0:
        raise ValueError(f'{owner}: results[{key!r}] is an empty clip')
    for i, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray):
            raise TypeError(f'{owner}: frame {i} of results[{key!r}] is a '
                            f'{type(frame).__name__}, not a numpy array')
        if frame.ndim not in (2, 3):
            raise ValueError(f'{owner}: frame {i} of results[{key!r}] has shape {frame.shape}; '
                             'expected H x W or H x W x C')
    shapes = [frame.shape for frame in frames]
    if len(set(shapes)) > 1:
        sizes = sorted({'x'.join(str(n) for n in shape) for shape in shapes})
        raise ValueError(f'{owner}: the frames of results[{key!r}] differ in size '
                         f'({", ".join(sizes)}); all frames of a clip must have one size')
    dtypes = {frame.dtype for frame in frames}
    if len(dtypes) > 1:
        raise ValueError(f'{owner}: the frames of results[{key!r}] differ in dtype '
                         f'({", ".join(sorted(str(d) for d in dtypes))})')
    gray = frames[0].ndim == 2
    if gray:
        return [frame[..., None] for frame in frames], single, gray
    base = _common_base(frames)
    return (list(frames) if base is None else base), single, gray


def as_clip(frames: Union[np.ndarray, Sequence[np.ndarray]]) -> np.ndarray:
    """The frames as one ``T x H x W x C`` array (no copy when they already are one).

    Args:
        frames (np.ndarray | Sequence[np.ndarray]): Frames from :func:`check_frames`.

    Returns:
        np.ndarray: The clip array; do not modify it in place.
    """
    return frames if isinstance(frames, np.ndarray) else np.stack(frames)


def unstack_frames(clip: Union[np.ndarray, Sequence[np.ndarray]], single: bool,
                   gray: bool) -> Union[np.ndarray, List[np.ndarray]]:
    """Turn a clip back into the layout it came in.

    Args:
        clip (np.ndarray | Sequence[np.ndarray]): ``T x H x W x C`` frames.
        single (bool): Whether to return one frame instead of a list.
        gray (bool): Whether to drop the channel axis.

    Returns:
        np.ndarray | list[np.ndarray]: One frame, or a list of per-frame views of one array.
    """
    if not isinstance(clip, np.ndarray):
        clip = np.stack(clip)
    elif clip.base is not None or not clip.flags.c_contiguous:
        # own the memory, so that check_frames recognises the views and takes them back for free
        clip = np.array(clip, order='C')
    if gray:
        frames = [np.ascontiguousarray(frame[..., 0]) for frame in clip]
    else:
        frames = list(clip)
    return frames[0] if single else frames


def to_uint8(clip: np.ndarray) -> np.ndarray:
    """Round and saturate frames to ``uint8`` (what an image codec takes).

    Args:
        clip (np.ndarray): Frames of any numeric dtype on the 0-255 scale.

    Returns:
        np.ndarray: The frames as ``uint8``; the input itself when it already is ``uint8``.
    """
    if clip.dtype == np.uint8:
        return clip
    return np.clip(np.rint(clip), 0, 255).astype(np.uint8)
