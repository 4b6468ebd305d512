from .hooks import DynamicRefinementHook

__all__ = ['DynamicRefinementHook']
