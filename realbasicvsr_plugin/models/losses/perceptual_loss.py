"""Perceptual loss that obtains its VGG weights the way the rest of the plugin does.

MMagic 1.2.0's ``PerceptualLoss`` always calls ``torchvision.models.vgg19(pretrained=True)`` when it
is built: it downloads VGG19 from the internet whatever ``pretrained`` says (its own loading code is
commented out), and ``pretrained=None`` crashes. This subclass keeps MMagic's arguments and forward
pass and only changes how the VGG features are obtained:

* ``'torchvision://vgg19'`` (default): torchvision's ImageNet weights, downloaded once into the
  plugin's cache and verified by the sha256 prefix in the file name, or read from a local copy;
* a path or URL: any VGG state dict (torchvision layout, ``features.*`` keys);
* ``None``: random weights, for offline smoke tests only (logged as a warning).

Only the feature layers the loss uses are kept.
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torchvision.models as tv_models
from mmagic.models.losses.perceptual_loss import PerceptualLoss as MMagicPerceptualLoss
from mmagic.models.losses.perceptual_loss import PerceptualVGG as MMagicPerceptualVGG
from mmengine.logging import MMLogger

from realbasicvsr_plugin.registry import MODELS
from ..checkpoint import load_state_dict_file


def vgg_types() -> List[str]:
    """The VGG variants torchvision builds (``vgg11`` ... ``vgg19_bn``)."""
    return sorted(name for name in tv_models.list_models(module=tv_models)
                  if name.startswith('vgg'))


def vgg_weights_url(vgg_type: str) -> str:
    """torchvision's download address of the ImageNet weights of ``vgg_type``.

    Args:
        vgg_type (str): A torchvision VGG name, e.g. ``'vgg19'``.

    Returns:
        str: The URL of ``torchvision.models.get_model_weights(vgg_type).IMAGENET1K_V1``.
    """
    return tv_models.get_model_weights(vgg_type).IMAGENET1K_V1.url


class PerceptualVGG(MMagicPerceptualVGG):
    """MMagic's feature extractor, built without a download, weights from ``pretrained``.

    Args:
        layer_name_list (list[str]): Indices in ``vgg.features`` whose outputs are returned.
        vgg_type (str): A torchvision VGG name. Default: 'vgg19'.
        use_input_norm (bool): Normalise [0, 1] input with ImageNet statistics. Default: True.
        pretrained (str | None): See the module docstring. Default: 'torchvision://vgg19'.
    """

    def __init__(self, layer_name_list: List[str], vgg_type: str = 'vgg19',
                 use_input_norm: bool = True,
                 pretrained: Optional[str] = 'torchvision://vgg19') -> None:
        nn.Module.__init__(self)
        if vgg_type not in vgg_types():
            raise ValueError(f'PerceptualLoss: vgg_type must be one of '
                             f'{vgg_types()}, got {vgg_type!r}')
        self.layer_name_list = layer_name_list
        self.use_input_norm = use_input_norm
        num_layers = max(map(int, layer_name_list)) + 1
        features = tv_models.get_model(vgg_type, weights=None).features
        if len(features) < num_layers:
            raise ValueError(f'PerceptualLoss: {vgg_type} has {len(features)} feature layers, '
                             f'layer {num_layers - 1} was asked for')
        self.vgg_layers = features[:num_layers]
        self._load(pretrained, vgg_type)
        if use_input_norm:
            self.register_buffer('mean', torch.Tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer('std', torch.Tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.vgg_layers.requires_grad_(False)

    def _load(self, pretrained: Optional[str], vgg_type: str) -> None:
        if pretrained is None:
            MMLogger.get_current_instance().warning(
                'PerceptualLoss: pretrained=None, the VGG features are random (smoke tests only)')
            return
        if pretrained.startswith('torchvision://'):
            name = pretrained[len('torchvision://'):]
            if name != vgg_type:
                raise ValueError(f'PerceptualLoss: pretrained {pretrained!r} does not match '
                                 f'vgg_type {vgg_type!r}')
            pretrained = vgg_weights_url(vgg_type)
        state = load_state_dict_file(pretrained)
        state = state.get('state_dict', state)
        wanted = self.vgg_layers.state_dict().keys()
        picked: Dict[str, torch.Tensor] = {}
        for key in wanted:
            for candidate in (f'features.{key}', key):
                if candidate in state:
                    picked[key] = state[candidate]
                    break
        missing = sorted(set(wanted) - set(picked))
        if missing:
            raise ValueError(f'PerceptualLoss: {pretrained} lacks VGG feature weights '
                             f'{missing[:6]}')
        self.vgg_layers.load_state_dict(picked, strict=True)


@MODELS.register_module()
class PerceptualLoss(MMagicPerceptualLoss):
    """MMagic's perceptual (and style) loss with offline-safe VGG weights.

    Arguments and forward pass are MMagic's ``PerceptualLoss``'s; ``pretrained`` is honoured (see
    the module docstring).
    """

    def __init__(self, layer_weights: dict, layer_weights_style: Optional[dict] = None,
                 vgg_type: str = 'vgg19', use_input_norm: bool = True,
                 perceptual_weight: float = 1.0, style_weight: float = 1.0,
                 norm_img: bool = True, pretrained: Optional[str] = 'torchvision://vgg19',
                 criterion: str = 'l1') -> None:
        nn.Module.__init__(self)
        self.norm_img = norm_img
        self.perceptual_weight = perceptual_weight
        self.style_weight = style_weight
        self.layer_weights = layer_weights
        self.layer_weights_style = layer_weights_style
        self.vgg = PerceptualVGG(list(layer_weights), vgg_type, use_input_norm, pretrained)
        if layer_weights_style is not None and layer_weights_style != layer_weights:
            self.vgg_style = PerceptualVGG(list(layer_weights_style), vgg_type, use_input_norm,
                                           pretrained)
        else:
            self.layer_weights_style = layer_weights
            self.vgg_style = None
        criteria = dict(l1=nn.L1Loss, mse=nn.MSELoss)
        if criterion.lower() not in criteria:
            raise ValueError(f'PerceptualLoss: criterion must be one of {sorted(criteria)}, '
                             f'got {criterion!r}')
        self.criterion = criteria[criterion.lower()]()
