"""The optional ``deploy`` extra (onnx, onnxruntime, onnxscript) and the one line asked for
when it is missing."""
import importlib
from types import ModuleType

from realbasicvsr_plugin.apis.errors import InferenceError

#: What to run when the extra is missing.
INSTALL_HINT = "pip install 'realbasicvsr_plugin[deploy]'"


def require(module: str, purpose: str, param: str = 'backend') -> ModuleType:
    """Import one of the deploy extra's modules, or say in one line what to install.

    Args:
        module (str): ``'onnx'``, ``'onnxruntime'`` or ``'onnxscript'``.
        purpose (str): What it is needed for, e.g. ``'backend onnxruntime'``.
        param (str): The API parameter the message is about. Defaults to ``'backend'``.

    Returns:
        ModuleType: The module.

    Raises:
        InferenceError: The module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        detail = ' '.join(str(err).split())
        raise InferenceError(f'{purpose} needs the Python package {module!r}, which does not '
                             f'import ({detail}); install the deploy extra: {INSTALL_HINT}',
                             param=param) from err
