"""MMEngine's distributed launchers on machines without CUDA (CPU processes and the gloo backend).

MMEngine 0.10.7 cannot start a distributed run on a CPU-only machine, for two reasons:

* ``_init_dist_pytorch`` and ``_init_dist_slurm`` (behind ``--launcher pytorch|slurm``) call
  ``torch.cuda.set_device(local_rank)`` unconditionally, which raises without CUDA;
* ``Runner.wrap_model`` gives every ``DistributedDataParallel`` wrapper
  ``device_ids=[LOCAL_RANK]``, which ``DistributedDataParallel`` refuses for a module on the CPU.

:func:`patch_mmengine_dist_init` (applied when :mod:`realbasicvsr_plugin.engine` is imported, which
the plugin's configs do through ``custom_imports`` before the runner starts) wraps the two
initialisers: with CUDA they run unchanged; without, ``torch.cuda.set_device`` is a no-op for the
duration of the call and the ``nccl`` backend (GPU only) is replaced by ``gloo``. The plugin's
:class:`MMSeparateDistributedDataParallel` (MMEngine's, under the plugin's scope) leaves
``device_ids`` out for a module on the CPU. Nothing changes where a GPU is present.
"""
import functools
import logging
from typing import Any, Callable

import torch
from mmengine.device import get_device
from mmengine.dist import utils as dist_utils
from mmengine.logging import print_log
from mmengine.model.wrappers import MMSeparateDistributedDataParallel as _MMEngineSeparateDDP
from torch import nn

from realbasicvsr_plugin.registry import MODEL_WRAPPERS

_PATCHED = '_realbasicvsr_plugin_cpu_safe'


def _no_cuda_device(device: Any) -> None:
    """Stands for ``torch.cuda.set_device`` while a CPU-only process group is initialised."""


def _cpu_safe(init_fn: Callable) -> Callable:
    """Wrap one of MMEngine's ``_init_dist_*`` functions so that it runs without CUDA."""

    @functools.wraps(init_fn)
    def init_dist_anywhere(backend: str = 'nccl', *args, **kwargs) -> None:
        if get_device() != 'cpu':
            return init_fn(backend, *args, **kwargs)
        if backend == 'nccl':
            print_log('no CUDA device: the distributed backend is gloo instead of nccl '
                      "(set env_cfg.dist_cfg.backend='gloo' to silence this)",
                      logger='current', level=logging.WARNING)
            backend = 'gloo'
        set_device = torch.cuda.set_device
        torch.cuda.set_device = _no_cuda_device
        try:
            return init_fn(backend, *args, **kwargs)
        finally:
            torch.cuda.set_device = set_device

    setattr(init_dist_anywhere, _PATCHED, True)
    return init_dist_anywhere


def patch_mmengine_dist_init() -> None:
    """Make ``--launcher pytorch`` and ``--launcher slurm`` start on CPU-only machines (idempotent).

    MMEngine's ``init_dist`` looks the two initialisers up in its module at call time, so
    replacing them there is enough; the runner and ``mim`` need no change.
    """
    for name in ('_init_dist_pytorch', '_init_dist_slurm'):
        init_fn = getattr(dist_utils, name)
        if not getattr(init_fn, _PATCHED, False):
            setattr(dist_utils, name, _cpu_safe(init_fn))


@MODEL_WRAPPERS.register_module()
class MMSeparateDistributedDataParallel(_MMEngineSeparateDDP):
    """MMEngine's wrapper for GAN models (one DDP per trained submodule), also on the CPU.

    Identical to MMEngine's where a GPU is used. On the CPU the ``device_ids`` (and
    ``output_device``) that ``Runner.wrap_model`` adds are left out, since
    ``DistributedDataParallel`` accepts none for a CPU module.

    Args:
        module (nn.Module): The editor.
        broadcast_buffers (bool): As in ``DistributedDataParallel``. Default: False.
        find_unused_parameters (bool): As in ``DistributedDataParallel``. Default: False.
        **kwargs: Passed to each submodule's ``MMDistributedDataParallel``.
    """

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False, **kwargs) -> None:
        if get_device() == 'cpu':
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module, broadcast_buffers=broadcast_buffers,
                         find_unused_parameters=find_unused_parameters, **kwargs)
