"""Reading and checking the ``params`` dict of a degradation when the transform is built.

The degradations keep MMagic's ``params`` dicts (same names, same meaning) so that a MMagic
pipeline ports by changing only its scope. Each value is checked here, once, when the transform is
built: a range given high-before-low, probabilities that do not sum to 1, an unknown kernel,
interpolation or codec name, a negative step or a misspelt parameter name stop the build with a
message that names the transform and the option, instead of failing (or silently doing something
else) in the middle of training.
"""
import math
from numbers import Real
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np


def _is_number(value: Any) -> bool:
    return isinstance(value, (Real, np.number)) and not isinstance(value, (bool, np.bool_))


def check_known_params(params: Mapping, known: Iterable[str], owner: str) -> None:
    """Refuse parameter names the transform does not read (most often a misspelt name).

    Args:
        params (Mapping): The ``params`` dict of the transform.
        known (Iterable[str]): The names the transform reads.
        owner (str): The transform's name, for the message.

    Raises:
        TypeError: If ``params`` is not a dict.
        ValueError: If ``params`` has a name outside ``known``.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f'{owner}: params must be a dict, got {type(params).__name__}')
    known = set(known)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f'{owner}: unknown params {unknown}; the known ones are {sorted(known)}')


def get_range(params: Mapping, name: str, default: Optional[Sequence[float]], owner: str,
              bounds: Tuple[float, float] = (-math.inf, math.inf)) -> Optional[Tuple[float, float]]:
    """Read a ``[low, high]`` range.

    Args:
        params (Mapping): The ``params`` dict.
        name (str): The option's name.
        default (Sequence[float] | None): The value when the option is absent; None makes the
            option required unless the caller handles None.
        owner (str): The transform's name, for the message.
        bounds (tuple[float, float]): The interval the range must lie in.

    Returns:
        tuple[float, float] | None: ``(low, high)``; None when absent and ``default`` is None.

    Raises:
        ValueError: If the value is not two numbers, is given high-before-low or leaves
            ``bounds``.
    """
    value = params.get(name, default)
    if value is None:
        return None
    if (not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 2
            or not all(_is_number(v) for v in value)):
        raise ValueError(f'{owner}: params[{name!r}] must be a [low, high] pair of numbers, '
                         f'got {value!r}')
    low, high = float(value[0]), float(value[1])
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f'{owner}: params[{name!r}] must be finite, got {value!r}')
    if low > high:
        raise ValueError(f'{owner}: params[{name!r}] is given high-before-low ({value!r}); '
                         'write it as [low, high]')
    if low < bounds[0] or high > bounds[1]:
        raise ValueError(f'{owner}: params[{name!r}] = {value!r} must lie within '
                         f'[{bounds[0]}, {bounds[1]}]')
    return low, high


def get_step(params: Mapping, name: str, owner: str) -> float:
    """Read the step size of a random walk (0 when absent: one value per clip).

    Args:
        params (Mapping): The ``params`` dict.
        name (str): The option's name, e.g. ``'sigma_x_step'``.
        owner (str): The transform's name, for the message.

    Returns:
        float: The step size, ``>= 0``.

    Raises:
        ValueError: If the step is not a finite number ``>= 0``.
    """
    value = params.get(name, 0)
    if not _is_number(value) or not math.isfinite(float(value)) or value < 0:
        raise ValueError(f'{owner}: params[{name!r}] must be a number >= 0, got {value!r}')
    return float(value)


def get_probability(params: Mapping, name: str, default: float, owner: str) -> float:
    """Read a probability.

    Args:
        params (Mapping): The ``params`` dict.
        name (str): The option's name.
        default (float): The value when the option is absent.
        owner (str): The transform's name, for the message.

    Returns:
        float: The probability in ``[0, 1]``.

    Raises:
        ValueError: If the value is not a number in ``[0, 1]``.
    """
    value = params.get(name, default)
    if not _is_number(value) or not 0 <= value <= 1:
        raise ValueError(f'{owner}: params[{name!r}] must be a probability in [0, 1], '
                         f'got {value!r}')
    return float(value)


def check_distribution(probs: Any, num: int, name: str, owner: str) -> np.ndarray:
    """Check a list of probabilities for ``num`` options.

    Args:
        probs (Any): The probabilities as given.
        num (int): The number of options they belong to.
        name (str): The option's name, for the message.
        owner (str): The transform's name, for the message.

    Returns:
        np.ndarray: The probabilities as float64, renormalised to sum exactly to 1.

    Raises:
        ValueError: If the length is not ``num``, a value is negative or they do not sum to 1.
    """
    if (not isinstance(probs, (list, tuple, np.ndarray)) or len(probs) != num
            or not all(_is_number(p) for p in probs)):
        raise ValueError(f'{owner}: params[{name!r}] must be a list of {num} probabilities, '
                         f'got {probs!r}')
    probs = np.asarray(probs, dtype=np.float64)
    if (probs < 0).any():
        raise ValueError(f'{owner}: params[{name!r}] has a negative probability: {probs.tolist()}')
    if abs(probs.sum() - 1) > 1e-6:
        raise ValueError(f'{owner}: params[{name!r}] = {probs.tolist()} sums to {probs.sum():.6g}, '
                         'not 1')
    return probs / probs.sum()


def get_choices(params: Mapping, name: str, prob_name: str, allowed: Iterable[str], owner: str,
                default: Optional[Sequence[str]] = None,
                default_prob: Optional[Sequence[float]] = None) -> Tuple[List[str], np.ndarray]:
    """Read a list of named options and the probabilities of drawing each.

    Args:
        params (Mapping): The ``params`` dict.
        name (str): The name of the list of options, e.g. ``'kernel_list'``.
        prob_name (str): The name of their probabilities, e.g. ``'kernel_prob'``.
        allowed (Iterable[str]): The option names the transform knows.
        owner (str): The transform's name, for the message.
        default (Sequence[str] | None): The options when absent; None makes them required.
        default_prob (Sequence[float] | None): The probabilities when absent; None means equal
            probabilities when the options are given.

    Returns:
        tuple[list[str], np.ndarray]: The options (as given) and their probabilities.

    Raises:
        ValueError: If the options are missing, empty, unknown, or their probabilities are wrong.
    """
    options = params.get(name, default)
    if options is None:
        raise ValueError(f'{owner}: params[{name!r}] is required')
    if isinstance(options, str) or not isinstance(options, (list, tuple)) or not options:
        raise ValueError(f'{owner}: params[{name!r}] must be a non-empty list of names, '
                         f'got {options!r}')
    allowed = list(allowed)
    unknown = [o for o in options if not isinstance(o, str) or o.lower() not in allowed]
    if unknown:
        raise ValueError(f'{owner}: params[{name!r}] has unknown names {unknown}; '
                         f'choose from {allowed}')
    probs = params.get(prob_name, default_prob)
    if probs is None:
        probs = [1.0 / len(options)] * len(options)
    return [o.lower() for o in options], check_distribution(probs, len(options), prob_name, owner)


def check_keys(keys: Any, owner: str) -> List[str]:
    """Check the ``keys`` argument of a transform.

    Args:
        keys (Any): The results keys the transform modifies, a list of strings (or one string).
        owner (str): The transform's name, for the message.

    Returns:
        list[str]: The keys.

    Raises:
        TypeError: If ``keys`` is not a string or a list of strings.
    """
    if isinstance(keys, str):
        return [keys]
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise TypeError(f'{owner}: keys must be a list of strings, got {keys!r}')
    return list(keys)
