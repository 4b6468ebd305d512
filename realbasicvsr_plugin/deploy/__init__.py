"""Deployment: export RealBasicVSR to ONNX and run it with ONNX Runtime (see docs/deploy.md).

* :func:`export_onnx` writes a folder of two graphs (cleaning pass, BasicVSR) with their settings
  in the metadata; ``realbasicvsr-export`` / ``python -m realbasicvsr_plugin.deploy export`` is
  its command line.
* :class:`OnnxRuntimeNet` runs such a folder as a network the streaming inferencer takes
  (``realbasicvsr IN OUT --backend onnxruntime --onnx DIR``).

Needs the ``deploy`` extra (``pip install 'realbasicvsr_plugin[deploy]'``); nothing here imports
onnx or onnxruntime before it is used.
"""
from .backend import BACKENDS, check_backend, deploy_model
from .dependencies import INSTALL_HINT
from .onnx_export import (BASICVSR_FILE, CLEANING_FILE, FORMAT_VERSION, export_onnx,
                          weights_fingerprint)
from .onnx_runtime_net import OnnxRuntimeNet, select_providers

__all__ = ['export_onnx', 'weights_fingerprint', 'OnnxRuntimeNet', 'select_providers',
           'deploy_model', 'check_backend', 'BACKENDS', 'CLEANING_FILE', 'BASICVSR_FILE', 'FORMAT_VERSION',
           'INSTALL_HINT']
