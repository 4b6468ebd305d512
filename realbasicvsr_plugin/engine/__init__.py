"""Runtime pieces: the dynamic-refinement hook, mixed precision and distributed runs on the CPU."""
from .amp_optim_wrapper import AmpOptimWrapper
from .cpu_distributed import MMSeparateDistributedDataParallel, patch_mmengine_dist_init
from .hooks import DynamicRefinementHook

# Global state changed at import, on purpose: MMEngine's launchers must find the CPU-safe
# initialisers before the runner starts, and the plugin's configs import the plugin (through
# `custom_imports`) exactly then. Without CUDA the initialisers behave otherwise as MMEngine's;
# with CUDA they are MMEngine's (see cpu_distributed.py).
patch_mmengine_dist_init()

__all__ = [
    'AmpOptimWrapper', 'DynamicRefinementHook', 'MMSeparateDistributedDataParallel',
    'patch_mmengine_dist_init'
]
