"""RealBasicVSR for real-world video super-resolution, as a plugin for MMagic 1.2.0.

Importing the package registers its components in the plugin's own child registries
(scope ``realbasicvsr_plugin``, see :mod:`realbasicvsr_plugin.registry`); MMagic's registrations are
left untouched.
"""
import os
import warnings
from pathlib import Path

from .version import __version__

# Global state is changed only for the duration of these imports, each for one reason:
# * NO_ALBUMENTATIONS_UPDATE: albumentations (imported by MMagic's transforms) asks PyPI for a
#   newer version when it is imported, a delay and a warning offline; the variable is set only
#   while it is imported here, and only if the user has not set it;
# * the warning filters: MMagic 1.2.0 and the diffusers it imports emit deprecation warnings at
#   import time that say nothing to a user of this plugin (np.bool8, torch's
#   _register_pytree_node); catch_warnings restores the caller's filters afterwards.
# (Importing ``models`` also extends torch's unpickling allowlist, for MMEngine's own
# checkpoints: see the comment at the end of models/checkpoint.py.)
_set_env = 'NO_ALBUMENTATIONS_UPDATE' not in os.environ
if _set_env:
    os.environ['NO_ALBUMENTATIONS_UPDATE'] = '1'
try:
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=FutureWarning)
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', message='.*pkg_resources.*')
        from . import registry  # noqa: F401  (must come before the components register)
        from . import datasets, engine, evaluation, models  # noqa: F401
finally:
    if _set_env:
        os.environ.pop('NO_ALBUMENTATIONS_UPDATE', None)
del _set_env


def config_dir() -> Path:
    """Folder of the plugin's configs: the installed copy, or the source tree's ``configs/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / '.mim' / 'configs', here.parent / 'configs'):
        if (candidate / 'realbasicvsr_stage1.py').is_file():
            return candidate
    raise FileNotFoundError(f'the configs of realbasicvsr_plugin are not installed next to {here}')


def config_path(name: str) -> Path:
    """Absolute path of a shipped config, for ``_base_`` in a config of another project.

    Example: ``python -c "import realbasicvsr_plugin as p; print(p.config_path('realbasicvsr_stage2.py'))"``
    """
    path = config_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f'no config {name!r} in {config_dir()}; available: '
                                f'{sorted(p.name for p in config_dir().glob("*.py"))}')
    return path


__all__ = ['__version__', 'config_dir', 'config_path']
