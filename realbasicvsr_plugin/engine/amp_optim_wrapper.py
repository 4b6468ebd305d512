"""Automatic mixed precision for training, on GPUs (float16 / bfloat16) and on the CPU (bfloat16).

MMEngine's ``AmpOptimWrapper`` (what ``tools/train.py --amp`` switches every ``OptimWrapper`` of
a config to, the GAN stage's two included) refuses to be built without a GPU. The plugin's
``AmpOptimWrapper``, which the plugin's scope finds first, is MMEngine's unchanged where a GPU is
present. On the CPU it autocasts to bfloat16, the only half precision of CPU autocast, without
loss scaling: bfloat16 has float32's exponent range, so gradients do not underflow as in float16.
"""
from typing import Union

import torch
from mmengine.device import get_device
from mmengine.optim import AmpOptimWrapper as _MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper

from realbasicvsr_plugin.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(_MMEngineAmpOptimWrapper):
    """MMEngine's ``AmpOptimWrapper``, also on the CPU.

    Args:
        loss_scale (str | float | dict): Loss scaling on a GPU, as MMEngine's (``'dynamic'``, a
            static scale, or ``GradScaler`` arguments). Not used on the CPU. Default: 'dynamic'.
        dtype (str | torch.dtype, optional): The autocast type. On a GPU ``None`` is float16; on
            the CPU ``None`` and ``'bfloat16'`` are bfloat16 and anything else is refused.
        use_fsdp (bool): As MMEngine's (GPU only). Default: False.
        **kwargs: ``OptimWrapper``'s arguments (``optimizer``, ``accumulative_counts``,
            ``clip_grad``).
    """

    def __init__(self, loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None, use_fsdp: bool = False,
                 **kwargs) -> None:
        if get_device() != 'cpu':
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        if dtype is not None and dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError('AmpOptimWrapper: dtype must be bfloat16 (or None) on the CPU, where '
                             f'autocast has no other half precision; got {dtype!r}')
        if use_fsdp:
            raise ValueError('AmpOptimWrapper: use_fsdp needs GPUs')
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.cast_dtype = torch.bfloat16
        # a disabled scaler passes the loss, the step and its (empty) state through unchanged
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
