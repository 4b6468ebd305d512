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

One fault of MMEngine 0.10.7 hits GAN training on GPUs as well: ``Runner.save_checkpoint`` saves
``model.module.state_dict()``, which under ``MMSeparateDistributedDataParallel`` names the
weights ``generator.module.*`` (each submodule has a DDP wrapper of its own), while loading
(``--resume``, ``load_from``) strips the wrappers and expects ``generator.*``: a distributed run
then resumes with none of its weights (``strict=False`` only warns). The plugin's wrapper makes
the editor's state dict name the weights as a single process does, so that checkpoints from one,
two or many processes are the same and load anywhere.
"""
import functools
import logging
from collections import OrderedDict
from typing import Any, Callable, Dict

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

    As MMEngine's, with two changes: on the CPU the ``device_ids`` (and ``output_device``) that
    ``Runner.wrap_model`` adds are left out, since ``DistributedDataParallel`` accepts none for a
    CPU module; and the wrapped editor's state dict names its weights without the wrappers'
    ``module.`` (``generator.conv.weight``, not ``generator.module.conv.weight``), as in a
    single process, so that checkpoints resume under any number of processes.

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
        wrapped = [name for name, child in module.named_children()
                   if isinstance(child, nn.parallel.DistributedDataParallel)]
        module._register_state_dict_hook(functools.partial(_drop_wrapper_names, wrapped))


def _drop_wrapper_names(wrapped, module: nn.Module, state_dict: Dict[str, Any], prefix: str,
                        local_metadata: Dict[str, Any]) -> None:
    """State-dict hook of the editor: ``<name>.module.<key>`` -> ``<name>.<key>`` in place."""
    renames = {f'{prefix}{name}.module.': f'{prefix}{name}.' for name in wrapped}
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        for old, new in renames.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        state_dict[key] = value
    metadata = getattr(state_dict, '_metadata', None)
    if isinstance(metadata, OrderedDict):
        for key in list(metadata):
            for old, new in renames.items():
                if f'{key}.'.startswith(old):
                    metadata[new[:-1] + key[len(old) - 1:]] = metadata.pop(key)
                    break
