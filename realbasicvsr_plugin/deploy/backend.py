"""The inference backends ``super_resolve`` offers, and the ONNX Runtime one's set-up."""
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn

from realbasicvsr_plugin.apis.errors import InferenceError

#: ``backend`` values: the PyTorch network, or the exported graphs on ONNX Runtime.
BACKENDS = ('pytorch', 'onnxruntime')


def check_backend(backend: str, onnx: Union[str, Path, None] = None) -> None:
    """Check ``backend`` (and that ``onnx`` is only given with ONNX Runtime).

    Args:
        backend (str): One of :data:`BACKENDS`.
        onnx (str | Path, optional): The export folder.
    """
    if backend not in BACKENDS:
        raise InferenceError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}",
                             param='backend')
    if backend != 'onnxruntime' and onnx is not None:
        raise InferenceError('onnx is read by backend onnxruntime only (the backend is '
                             f'{backend})', param='onnx')


def deploy_model(onnx: Union[str, Path, None], providers: Union[str, Sequence[str], None],
                 precision: str, device: str, trt_cache: Union[str, Path, None] = None,
                 config=None, checkpoint: Optional[str] = None,
                 trust_checkpoint: bool = False) -> Tuple[nn.Module, torch.device, str]:
    """Open an export folder on ONNX Runtime for ``super_resolve(backend='onnxruntime')``.

    The graphs run where their execution providers are; the streaming path around them
    (chunks, tiles, blending) stays on the CPU. ``precision='fp16'`` builds TensorRT float16
    engines. With ``checkpoint`` (and ``config``) given, the folder must have been exported
    from those weights.

    Args:
        onnx (str | Path): The export folder.
        providers (str | Sequence[str], optional): Execution providers (``'auto'``).
        precision (str): ``'fp32'`` or ``'fp16'`` (TensorRT only).
        device (str): Must be ``'auto'`` or ``'cpu'``: the providers choose the accelerator.
        trt_cache (str | Path, optional): TensorRT engine cache folder.
        config: Config of the checkpoint to check the folder against.
        checkpoint (str, optional): Checkpoint to check the folder against.
        trust_checkpoint (bool): Unpickle that checkpoint fully.

    Returns:
        tuple: ``(network, torch device of the streaming path, precision for it)``.
    """
    from .onnx_runtime_net import OnnxRuntimeNet

    if str(device) not in ('auto', 'cpu'):
        raise InferenceError(f'device {device} is for backend pytorch; with backend '
                             'onnxruntime the execution providers choose where the graphs run',
                             param='device')
    if precision not in ('fp32', 'fp16'):
        raise InferenceError(f'{precision} precision is for the pytorch backend; the '
                             'onnxruntime backend runs fp32, or fp16 TensorRT engines')
    net = OnnxRuntimeNet(onnx, providers=providers, fp16=precision == 'fp16',
                         trt_cache=trt_cache)
    if checkpoint is not None or config is not None:
        from realbasicvsr_plugin.apis.model_loading import load_model

        source, _ = load_model(config, checkpoint, device='cpu',
                               trust_checkpoint=trust_checkpoint)
        if not net.matches(source):
            raise InferenceError(
                f"ONNX graphs in '{net.onnx_dir}' were exported from other weights than "
                f"checkpoint '{checkpoint}'; export that checkpoint again")
    return net, torch.device('cpu'), 'fp32'
