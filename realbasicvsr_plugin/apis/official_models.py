"""The released RealBasicVSR weights, by name, at the addresses MMagic publishes.

MMagic 1.2.0 lists two RealBasicVSR checkpoints in ``configs/real_basicvsr/metafile.yml`` (and its
README), both the paper's architecture (64 channels, 20 cleaning blocks, 20 propagation blocks per
direction, x4), trained on REDS:

* ``realbasicvsr``: the GAN model of stage 2 (``realbasicvsr_c64b20-1x30x8_8xb1-lr5e-5-150k_reds``),
  tested with theta = 5;
* ``realbasicvsr_wogan``: the stage-1 model trained without GAN
  (``realbasicvsr_wogan-c64b20-2x30x8_8xb2-lr1e-4-300k_reds``), tested with theta = 1.5.

(theta is the dynamic-refinement threshold of the paper's Eq. 5 on the 0-255 scale; MMagic's
configs leave the training value 255 with a note to set 1.5, or 5 for GAN models, for testing.)

Each file name carries the first eight hex digits of the file's SHA-256
(``..._20211104-52f77c2c.pth``); the download is verified against them by torch.hub and kept in
the plugin's cache (:func:`realbasicvsr_plugin.models.checkpoint.cache_dir`), so it happens once.
The download folder can be replaced (a mirror, or a test server) with the ``base_url`` argument or
the ``REALBASICVSR_PLUGIN_MODEL_URL`` environment variable; the file names stay the same.
"""
import os
from dataclasses import dataclass, field
from typing import Dict, Optional

from realbasicvsr_plugin.cache import hash_prefix_in_name

from .errors import InferenceError
from .model_loading import PAPER_GENERATOR

#: Where MMagic publishes the RealBasicVSR weights.
OFFICIAL_BASE_URL = 'https://download.openmmlab.com/mmediting/restorers/real_basicvsr/'

#: Environment variable that replaces :data:`OFFICIAL_BASE_URL` (a mirror or a test server).
BASE_URL_ENV = 'REALBASICVSR_PLUGIN_MODEL_URL'


@dataclass(frozen=True)
class OfficialModel:
    """A released checkpoint and how to run it.

    Args:
        name (str): The name users give (``--model NAME``).
        file_name (str): File name of the release, ending in ``-<sha256 prefix>.pth``.
        dynamic_refine_thres (float): theta of dynamic refinement to test it with (0-255 scale).
        mmagic_name (str): The model's name in MMagic's metafile.
        description (str): One line for ``--list-models``.
        architecture (dict): The network's config, without the threshold. Default: the paper's
            (:data:`~.model_loading.PAPER_GENERATOR`).
    """

    name: str
    file_name: str
    dynamic_refine_thres: float
    mmagic_name: str
    description: str
    architecture: dict = field(default_factory=lambda: dict(PAPER_GENERATOR))

    @property
    def sha256_prefix(self) -> str:
        """The SHA-256 prefix the file name carries."""
        prefix = hash_prefix_in_name(self.file_name)
        assert prefix, f'{self.file_name} carries no sha256 prefix'
        return prefix

    def url(self, base_url: Optional[str] = None) -> str:
        """The download address.

        Args:
            base_url (str, optional): Download folder; default ``$REALBASICVSR_PLUGIN_MODEL_URL``,
                else :data:`OFFICIAL_BASE_URL`.

        Returns:
            str: ``<folder>/<file name>``.
        """
        folder = base_url or os.environ.get(BASE_URL_ENV) or OFFICIAL_BASE_URL
        return folder.rstrip('/') + '/' + self.file_name

    def generator(self) -> dict:
        """The network's config: its architecture with this model's test threshold.

        Returns:
            dict: A ``RealBasicVSRNet`` config.
        """
        return dict(self.architecture, dynamic_refine_thres=self.dynamic_refine_thres)


#: The released models by name, the default first.
OFFICIAL_MODELS: Dict[str, OfficialModel] = {
    model.name: model
    for model in (
        OfficialModel(
            name='realbasicvsr',
            file_name='realbasicvsr_c64b20_1x30x8_lr5e-5_150k_reds_20211104-52f77c2c.pth',
            dynamic_refine_thres=5.0,
            mmagic_name='realbasicvsr_c64b20-1x30x8_8xb1-lr5e-5-150k_reds',
            description='RealBasicVSR x4, GAN model of stage 2 (REDS), theta 5: for real use'),
        OfficialModel(
            name='realbasicvsr_wogan',
            file_name='realbasicvsr_wogan_c64b20_2x30x8_lr1e-4_300k_reds_20211027-0e2ff207.pth',
            dynamic_refine_thres=1.5,
            mmagic_name='realbasicvsr_wogan-c64b20-2x30x8_8xb2-lr1e-4-300k_reds',
            description='RealBasicVSR x4, stage-1 model without GAN (REDS), theta 1.5: '
            'smoother, fewer invented details'),
    )
}


def official_model(name: str) -> OfficialModel:
    """The released model called ``name``.

    Args:
        name (str): A key of :data:`OFFICIAL_MODELS`.

    Returns:
        OfficialModel: Its entry.

    Raises:
        InferenceError: Unknown name (the message lists the known ones).
    """
    try:
        return OFFICIAL_MODELS[name]
    except KeyError:
        raise InferenceError(f"model_name '{name}' is not a released model; known models: "
                             f"{', '.join(OFFICIAL_MODELS)}", param='model_name') from None
