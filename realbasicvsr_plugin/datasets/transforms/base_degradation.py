"""What every random degradation of a clip shares: ``params``, ``keys``, ``prob`` and the clip."""
import copy
from typing import Any, Dict, List, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from .clip_frames import check_frames, unstack_frames
from .degradation_params import check_keys, check_known_params, get_probability


class BaseDegradation(BaseTransform):
    """Base class of the random degradations.

    Subclasses read their options from ``params`` in ``__init__`` (through the helpers of
    :mod:`.degradation_params`, so that bad options fail when the transform is built) and implement
    :meth:`degrade`, which receives one whole, checked clip (frames of one size and dtype, each
    ``H x W x C``).

    With probability ``params['prob']`` (default 1) the transform is applied to the clip, once per
    call; each key in ``keys`` then gets its own random parameters, as in MMagic.

    Args:
        params (dict): The degradation settings (MMagic's names).
        keys (list[str]): The results keys whose frames are degraded.
    """

    #: the names a subclass reads from ``params`` (``prob`` is always accepted)
    known_params: Sequence[str] = ()

    def __init__(self, params: Dict[str, Any], keys: List[str]) -> None:
        name = type(self).__name__
        check_known_params(params, tuple(self.known_params) + ('prob', ), name)
        self.params = copy.deepcopy(dict(params))
        self.keys = check_keys(keys, name)
        self.prob = get_probability(self.params, 'prob', 1.0, name)

    def degrade(self, frames: Union[np.ndarray, List[np.ndarray]]) -> np.ndarray:
        """Degrade one clip.

        Args:
            frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C`` on the 0-255
                scale, as a list or as one ``T x H x W x C`` array (:func:`.as_clip` gives the
                array). They may share memory with the results: do not modify them in place.

        Returns:
            np.ndarray: The degraded ``T x H' x W' x C'`` frames, a new array.
        """
        raise NotImplementedError

    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Degrade the frames under each key of ``keys``.

        Args:
            results (dict): The pipeline's results; ``results[key]`` is a list of ``H x W x C``
                (or ``H x W``) frames, or one frame.

        Returns:
            dict: ``results`` with the degraded frames (a list of per-frame views of one array).
        """
        if self.prob < 1 and np.random.uniform() >= self.prob:
            return results
        for key in self.keys:
            if key not in results:
                raise KeyError(f'{type(self).__name__}: results has no key {key!r} '
                               f'(it has {sorted(results)})')
            frames, single, gray = check_frames(results[key], key, type(self).__name__)
            results[key] = unstack_frames(self.degrade(frames), single, gray)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(params={self.params}, keys={self.keys})'


def draw_choice(options: Sequence[str], probs: np.ndarray) -> str:
    """Draw one of ``options`` with the given probabilities (from ``np.random``).

    Args:
        options (Sequence[str]): The names to choose from.
        probs (np.ndarray): Their probabilities.

    Returns:
        str: The chosen name.
    """
    if len(options) == 1:
        return options[0]
    return options[int(np.random.choice(len(options), p=probs))]


def check_channel_order(channel_order: Any, owner: str) -> str:
    """Check a ``channel_order`` argument.

    Args:
        channel_order (Any): The value given.
        owner (str): The transform's name, for the message.

    Returns:
        str: ``'rgb'`` or ``'bgr'``.

    Raises:
        ValueError: For any other value.
    """
    if not isinstance(channel_order, str) or channel_order.lower() not in ('rgb', 'bgr'):
        raise ValueError(f"{owner}: channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    return channel_order.lower()
