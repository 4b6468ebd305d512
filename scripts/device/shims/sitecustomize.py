"""NumPy 1 names that MMagic 1.2.0 and its dependencies still use, for the GPU checks only.

The lent GPU machine's image has NumPy 2 built into its other packages (pandas, OpenCV, SciPy), so
NumPy 1 cannot be carried there; ``scripts/device/gpu_checks.sh`` puts this folder on
``PYTHONPATH`` so these aliases exist in every Python process of the checks. The project itself
pins ``numpy<2`` (requirements/constraints.txt) and never loads this file.
"""
import numpy as np

_ALIASES = {'bool8': np.bool_, 'float_': np.float64, 'complex_': np.complex128, 'Inf': np.inf,
            'NaN': np.nan, 'string_': np.bytes_, 'unicode_': np.str_}
for _name, _value in _ALIASES.items():
    if _name not in np.__dict__:
        setattr(np, _name, _value)
