"""RealBasicVSRNet, the RealBasicVSR editor, the perceptual loss and the checkpoint loader."""
from .checkpoint import (CheckpointError, UnsafeCheckpointError, load_checkpoint,
                         load_state_dict_file)
from .editors import RealBasicVSR
from .losses import PerceptualLoss
from .realbasicvsr_net import BasicVSRCore, RealBasicVSRNet

__all__ = ['RealBasicVSRNet', 'BasicVSRCore', 'RealBasicVSR', 'PerceptualLoss', 'load_checkpoint',
           'load_state_dict_file', 'CheckpointError', 'UnsafeCheckpointError']
