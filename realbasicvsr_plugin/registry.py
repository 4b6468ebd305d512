"""Child registries of MMagic's, under the scope ``realbasicvsr_plugin``.

MMagic already registers classes called ``RealBasicVSRNet``, ``RandomVideoCompression``, ...
Registering the plugin's versions into MMagic's own registries would replace MMagic's classes for
every other user of the toolbox. Instead each registry here is a *child* of MMagic's with its own
scope (MMEngine's mechanism for downstream projects):

* ``default_scope = 'realbasicvsr_plugin'`` in a config resolves a plain name in the plugin first,
  then in MMagic, then in MMEngine;
* from MMagic's scope a plugin component is named ``realbasicvsr_plugin.RealBasicVSRNet``.

MMEngine imports this module by name (``<scope>.registry``) when it switches to the plugin's scope,
and each registry imports its ``locations`` the first time it is searched, so the components are
registered even when only the scope is named. Every MMagic registry gets a child (visualizers,
loops, optimizers, ...), so that under the plugin's scope MMagic's components of every kind are
found as well.
"""
from mmagic import registry as _mmagic
from mmengine.registry import Registry

SCOPE = 'realbasicvsr_plugin'

# where the plugin's own components of each kind live
_LOCATIONS = {
    'MODELS': ['realbasicvsr_plugin.models'],
    'TRANSFORMS': ['realbasicvsr_plugin.datasets'],
    'DATASETS': ['realbasicvsr_plugin.datasets'],
    'HOOKS': ['realbasicvsr_plugin.engine'],
    'MODEL_WRAPPERS': ['realbasicvsr_plugin.engine'],
    'OPTIM_WRAPPERS': ['realbasicvsr_plugin.engine'],
    'METRICS': ['realbasicvsr_plugin.evaluation'],
}

_MMAGIC_REGISTRIES = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'TASK_UTILS', 'DIFFUSION_SCHEDULERS', 'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]


class _MetricRegistry(Registry):
    """METRICS: a name that nothing registers but the plugin knows it cannot compute (NRQM, PI)
    gets a message saying why and what to do, instead of MMEngine's "not in the registry"."""

    def get(self, key):
        obj = super().get(key)
        if obj is None:
            from realbasicvsr_plugin.evaluation.metrics.perceptual_index import \
                check_metric_available
            check_metric_available(key)
        return obj

    def __contains__(self, key) -> bool:
        return super().get(key) is not None


def _child(name: str, cls: type = Registry) -> Registry:
    parent = getattr(_mmagic, name)
    # MMEngine imports only the searched registry's own locations, not its parent's: list MMagic's
    # too, so that its components are registered when only the plugin's scope is named
    locations = _LOCATIONS.get(name, []) + list(parent._locations)
    return cls(parent.name, parent=parent, scope=SCOPE, locations=locations)


RUNNERS = _child('RUNNERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
DATASETS = _child('DATASETS')
DATA_SAMPLERS = _child('DATA_SAMPLERS')
TRANSFORMS = _child('TRANSFORMS')
MODELS = _child('MODELS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
TASK_UTILS = _child('TASK_UTILS')
DIFFUSION_SCHEDULERS = _child('DIFFUSION_SCHEDULERS')
METRICS = _child('METRICS', _MetricRegistry)
EVALUATORS = _child('EVALUATORS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')
# MMagic registers its losses into MODELS; LOSSES is an alias for readability.
LOSSES = MODELS

__all__ = ['SCOPE', 'LOSSES'] + _MMAGIC_REGISTRIES
