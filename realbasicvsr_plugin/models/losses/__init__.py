"""Losses of the plugin (the cleaning loss is MMagic's CharbonnierLoss on the downsampled GT)."""
from .perceptual_loss import PerceptualLoss

__all__ = ['PerceptualLoss']
