"""NRQM (Ma et al., "Learning a no-reference quality metric for single-image super-resolution")
and the PIRM perceptual index ``PI = ((10 - NRQM) + NIQE) / 2``.

NRQM's score comes from the authors' trained regression forests (the MATLAB release's model
files). They are not distributed through any package registry that this project can use, and no
faithful re-implementation exists without them, so this plugin does not compute NRQM or PI: the
registered ``NRQM`` and ``PI`` metrics stop with :class:`NRQMUnavailableError` saying so, instead
of producing numbers that would not match the published ones. :func:`perceptual_index` combines an
NRQM computed elsewhere (e.g. with the official MATLAB code) with this plugin's NIQE.
"""
from realbasicvsr_plugin.registry import METRICS

__all__ = ['perceptual_index', 'NRQMUnavailableError', 'NRQM_UNAVAILABLE', 'NRQM', 'PI']

NRQM_UNAVAILABLE = (
    'NRQM (and so PI = ((10 - NRQM) + NIQE) / 2) is not available in realbasicvsr_plugin: it needs '
    "the authors' trained regression-forest model files from the official MATLAB release "
    '(https://github.com/chaoma99/sr-metric), which are not distributed through PyPI and cannot '
    'be obtained faithfully here. Compute NRQM with the official MATLAB code and combine it with '
    "this plugin's NIQE using realbasicvsr_plugin.evaluation.perceptual_index(nrqm, niqe), or use "
    'the NIQE and BRISQUE metrics.')


class NRQMUnavailableError(RuntimeError):
    """NRQM's model data cannot be obtained, so NRQM and PI cannot be computed."""


def perceptual_index(nrqm: float, niqe: float) -> float:
    """The PIRM 2018 perceptual index.

    Args:
        nrqm (float): Ma et al.'s score (0-10, higher is better).
        niqe (float): NIQE (lower is better).

    Returns:
        float: ``((10 - nrqm) + niqe) / 2`` (lower is better).
    """
    return ((10.0 - float(nrqm)) + float(niqe)) / 2.0


@METRICS.register_module()
class NRQM:
    """Placeholder that explains why NRQM is not computed (see the module docstring).

    Args:
        **kwargs: Ignored.
    """

    def __init__(self, **kwargs) -> None:
        raise NRQMUnavailableError(NRQM_UNAVAILABLE)


@METRICS.register_module()
class PI:
    """Placeholder that explains why PI is not computed (see the module docstring).

    Args:
        **kwargs: Ignored.
    """

    def __init__(self, **kwargs) -> None:
        raise NRQMUnavailableError(NRQM_UNAVAILABLE)
