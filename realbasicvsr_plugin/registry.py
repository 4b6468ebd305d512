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
registered even when only the scope is named.
"""
from mmagic.registry import DATASETS as MMAGIC_DATASETS
from mmagic.registry import HOOKS as MMAGIC_HOOKS
from mmagic.registry import METRICS as MMAGIC_METRICS
from mmagic.registry import MODELS as MMAGIC_MODELS
from mmagic.registry import TRANSFORMS as MMAGIC_TRANSFORMS
from mmengine.registry import Registry

SCOPE = 'realbasicvsr_plugin'

MODELS = Registry('model', parent=MMAGIC_MODELS, scope=SCOPE,
                  locations=['realbasicvsr_plugin.models'])
# MMagic registers its losses into MODELS; LOSSES is an alias for readability.
LOSSES = MODELS
TRANSFORMS = Registry('transform', parent=MMAGIC_TRANSFORMS, scope=SCOPE,
                      locations=['realbasicvsr_plugin.datasets'])
DATASETS = Registry('dataset', parent=MMAGIC_DATASETS, scope=SCOPE,
                    locations=['realbasicvsr_plugin.datasets'])
HOOKS = Registry('hook', parent=MMAGIC_HOOKS, scope=SCOPE,
                 locations=['realbasicvsr_plugin.engine'])
METRICS = Registry('metric', parent=MMAGIC_METRICS, scope=SCOPE,
                   locations=['realbasicvsr_plugin.evaluation'])

__all__ = ['SCOPE', 'MODELS', 'LOSSES', 'TRANSFORMS', 'DATASETS', 'HOOKS', 'METRICS']
