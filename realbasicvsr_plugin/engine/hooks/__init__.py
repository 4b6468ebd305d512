from .dynamic_refinement_hook import DynamicRefinementHook

__all__ = ['DynamicRefinementHook']
