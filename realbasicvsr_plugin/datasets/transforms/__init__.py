"""Training degradations of RealBasicVSR, registered in the plugin's ``TRANSFORMS`` registry.

Transforms that MMagic also has keep MMagic's names and constructor arguments, so a MMagic
pipeline ports by setting ``default_scope = 'realbasicvsr_plugin'``.
"""
from .blur import KERNEL_TYPES, RandomBlur, make_kernel
from .degradations_with_shuffle import DegradationsWithShuffle
from .jpeg_compression import RandomJPEGCompression
from .noise import RandomNoise
from .random_walk import random_walk, walk_from_range
from .realbasicvsr_degradations import RealBasicVSRDegradations, realbasicvsr_degradation_cfgs
from .resize import RandomResize
from .unsharp_masking import UnsharpMasking
from .video_compression import RandomVideoCompression

__all__ = [
    'KERNEL_TYPES', 'RandomBlur', 'make_kernel', 'DegradationsWithShuffle',
    'RandomJPEGCompression', 'RandomNoise', 'random_walk', 'walk_from_range',
    'RealBasicVSRDegradations', 'realbasicvsr_degradation_cfgs', 'RandomResize', 'UnsharpMasking',
    'RandomVideoCompression'
]
