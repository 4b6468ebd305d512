"""Data side of RealBasicVSR: the training degradations (see :mod:`.transforms`)."""
from .transforms import *  # noqa: F401,F403
from .transforms import __all__  # noqa: F401
