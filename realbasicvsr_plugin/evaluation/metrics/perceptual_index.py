"""The PIRM perceptual index ``PI = ((10 - NRQM) + NIQE) / 2``, and why NRQM is not provided.

NRQM (Ma et al., "Learning a no-reference quality metric for single-image super-resolution")
scores with the authors' trained regression forests (the MATLAB release's model files). They are
not distributed through any package registry that this project can use, and no faithful
re-implementation exists without them, so the plugin registers no ``NRQM`` or ``PI`` metric.
A config that asks for one gets :class:`MetricUnavailableError` with :data:`NRQM_UNAVAILABLE`
(the plugin's ``METRICS`` registry calls :func:`check_metric_available` when it does not know a
name). :func:`perceptual_index` combines an NRQM computed elsewhere (e.g. with the official MATLAB
code) with this plugin's NIQE.
"""
__all__ = ['perceptual_index', 'MetricUnavailableError', 'NRQM_UNAVAILABLE',
           'UNAVAILABLE_METRICS', 'check_metric_available']

NRQM_UNAVAILABLE = (
    'NRQM (and so PI = ((10 - NRQM) + NIQE) / 2) is not available in realbasicvsr_plugin: it needs '
    "the authors' trained regression-forest model files from the official MATLAB release "
    '(https://github.com/chaoma99/sr-metric), which are not distributed through PyPI and cannot '
    'be obtained faithfully here. Compute NRQM with the official MATLAB code and combine it with '
    "this plugin's NIQE using realbasicvsr_plugin.evaluation.perceptual_index(nrqm, niqe), or use "
    'the NIQE and BRISQUE metrics.')

#: metric names a config may ask for that the plugin knows of but cannot compute, and why
UNAVAILABLE_METRICS = {'NRQM': NRQM_UNAVAILABLE, 'PI': NRQM_UNAVAILABLE}


class MetricUnavailableError(KeyError):
    """A config asks for a metric whose model data cannot be obtained (NRQM, PI).

    A ``KeyError``, as MMEngine's registries raise for an unknown type, with a message that says
    why and what to do instead.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def check_metric_available(name: str) -> None:
    """Raise :class:`MetricUnavailableError` for a metric name the plugin cannot compute.

    Args:
        name (str): A metric ``type`` from a config, with or without a scope
            (``'PI'``, ``'realbasicvsr_plugin.NRQM'``).
    """
    bare = name.rsplit('.', 1)[-1] if isinstance(name, str) else name
    if bare in UNAVAILABLE_METRICS:
        raise MetricUnavailableError(f'metric {name!r}: {UNAVAILABLE_METRICS[bare]}')


def perceptual_index(nrqm: float, niqe: float) -> float:
    """The PIRM 2018 perceptual index.

    Args:
        nrqm (float): Ma et al.'s score (0-10, higher is better).
        niqe (float): NIQE (lower is better).

    Returns:
        float: ``((10 - nrqm) + niqe) / 2`` (lower is better).
    """
    return ((10.0 - float(nrqm)) + float(niqe)) / 2.0
