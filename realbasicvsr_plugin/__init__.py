"""RealBasicVSR for real-world video super-resolution, as a plugin for MMagic 1.2.0.

Importing the package registers its components in the plugin's own child registries
(scope ``realbasicvsr_plugin``, see :mod:`realbasicvsr_plugin.registry`); MMagic's registrations are
left untouched.
"""
import os

# albumentations (imported by MMagic's transforms) asks PyPI for a newer version at every import;
# offline that is a delay and a warning, and it is never what a user of this plugin wants.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

from .version import __version__  # noqa: E402
from . import registry  # noqa: F401  (must come before the components register)
from . import datasets, engine, evaluation, models  # noqa: F401,E402

__all__ = ['__version__']
