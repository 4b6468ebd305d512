"""Build the restoration network for inference from a config and a checkpoint.

The config is one of the plugin's configs (training, test or inference): its ``model.generator``
(or ``model`` itself when it is a bare network) is built with the plugin's ``MODELS`` registry
under the ``realbasicvsr_plugin`` scope, then the checkpoint's weights are loaded into it
(the EMA generator's when the checkpoint has one).
"""
import re
from pathlib import Path
from typing import Optional, Tuple, Union

import torch
from torch import nn

from .errors import InferenceError

#: File names of the demo model shipped in ``realbasicvsr_plugin/weights/``.
DEMO_CONFIG = 'realbasicvsr_demo_config.py'
DEMO_CHECKPOINT = 'realbasicvsr_demo.pth'
#: The checksum list beside them (``sha256sum`` format, written by
#: ``scripts/export_demo_model.py``): every checkpoint loaded from that folder is verified by it.
SHIPPED_SUMS = 'SHA256SUMS'

#: The paper's architecture, used when a checkpoint is given without a config, with the test
#: threshold of dynamic refinement for the GAN-trained model (as the released weights are).
PAPER_GENERATOR = dict(type='RealBasicVSRNet', mid_channels=64, num_propagation_blocks=20,
                       num_cleaning_blocks=20, dynamic_refine_thres=5, max_passes=3,
                       is_fix_cleaning=False, is_sequential_cleaning=False, scale=4)


def weights_dir() -> Path:
    """The folder of the weights installed with the package."""
    return Path(__file__).resolve().parents[1] / 'weights'


def default_model() -> Tuple[Path, Path]:
    """The config and checkpoint used when the user names neither: the shipped demo model.

    Returns:
        tuple[Path, Path]: ``(config, checkpoint)``.

    Raises:
        InferenceError: The demo model is not installed.
    """
    config, checkpoint = weights_dir() / DEMO_CONFIG, weights_dir() / DEMO_CHECKPOINT
    if not (config.is_file() and checkpoint.is_file()):
        raise InferenceError(
            f"no checkpoint given and the demo model is not installed (looked for "
            f"'{checkpoint}'); give a checkpoint, or a released model by name",
            param='checkpoint')
    return config, checkpoint


def shipped_sha256(checkpoint: Union[str, Path]) -> Optional[str]:
    """The SHA-256 the package lists for a checkpoint in :func:`weights_dir`, or None elsewhere.

    Args:
        checkpoint (str | Path): A checkpoint path (or URL, which is never a shipped file).

    Returns:
        str | None: The expected hex digest, None when ``checkpoint`` is not in the folder.

    Raises:
        InferenceError: The checkpoint is in the folder but the package lists no checksum for
            it (a broken or hand-altered install).
    """
    text = str(checkpoint)
    if '://' in text:
        return None
    path = Path(text).expanduser().resolve()
    folder = weights_dir()
    if path.parent != folder.resolve():
        return None
    sums = folder / SHIPPED_SUMS
    listed = {}
    if sums.is_file():
        for line in sums.read_text().splitlines():
            digest, _, name = line.strip().partition('  ')
            if name:
                listed[name.lstrip('*')] = digest.lower()
    if path.name not in listed:
        raise InferenceError(f"the package lists no sha256 for '{path}' (in '{sums}'): the "
                             'installation is incomplete; reinstall realbasicvsr_plugin',
                             param='checkpoint')
    return listed[path.name]


def verify_shipped_checkpoint(checkpoint: Union[str, Path]) -> None:
    """Check a checkpoint of :func:`weights_dir` against the package's ``SHA256SUMS``.

    Any other checkpoint passes unchecked (a user's file, or a URL verified when it is
    downloaded).

    Args:
        checkpoint (str | Path): A checkpoint path or URL.

    Raises:
        InferenceError: A shipped checkpoint whose content is not the one the package lists
            (damaged, truncated or replaced).
    """
    from realbasicvsr_plugin.cache import ChecksumError, check_file_hash

    expected = shipped_sha256(checkpoint)
    if expected is None:
        return
    try:
        check_file_hash(checkpoint, expected)
    except ChecksumError as err:
        raise InferenceError(
            f"the shipped model '{checkpoint}' is damaged or replaced: its sha256 is "
            f'{err.actual}, the package lists {expected}; reinstall realbasicvsr_plugin',
            param='checkpoint') from None


def load_config(config):
    """Read a config file into an MMEngine ``Config`` (a ``Config`` or dict passes through).

    Args:
        config (str | Path | Config | dict): The config.

    Returns:
        mmengine.config.Config: The config.
    """
    from mmengine.config import Config

    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return Config(config)
    path = Path(config)
    if not path.is_file():
        raise InferenceError(f"config not found: '{path}'")
    try:
        return Config.fromfile(str(path))
    except Exception as err:  # noqa: BLE001  (any parse error of a user file)
        raise InferenceError(f"cannot read config '{path}': {type(err).__name__}: "
                             f'{_first_line(err)}') from err


def generator_config(cfg) -> dict:
    """The network part of a config: ``model.generator``, or ``model`` if it is a network.

    Args:
        cfg (Config): A plugin config.

    Returns:
        dict: The generator's config (a copy).
    """
    model = cfg.get('model')
    if model is None:
        raise InferenceError(f"config '{cfg.filename}' has no 'model'")
    generator = model.get('generator', model)
    if 'type' not in generator:
        raise InferenceError(f"config '{cfg.filename}': model.generator has no 'type'")
    return dict(generator)


def build_generator(generator_cfg: dict) -> nn.Module:
    """Build a network from its config with the plugin's registry and scope.

    Args:
        generator_cfg (dict): e.g. ``dict(type='RealBasicVSRNet', mid_channels=64, ...)``.

    Returns:
        nn.Module: The network, in eval mode.
    """
    from mmengine.registry import DefaultScope

    import realbasicvsr_plugin  # noqa: F401  (registers the plugin's modules)
    from realbasicvsr_plugin.registry import MODELS

    try:
        # Plain names resolve in the plugin first, whatever scope the caller has set.
        with DefaultScope.overwrite_default_scope('realbasicvsr_plugin'):
            net = MODELS.build(dict(generator_cfg))
    except (KeyError, TypeError, ValueError) as err:
        raise InferenceError(f'cannot build the network {generator_cfg.get("type")!r}: '
                             f'{_first_line(err)}') from err
    return net.eval()


def _checkpoint_message(err: Exception, source: str, where: str) -> str:
    """One line from the checkpoint loader's report (which lists keys on several lines)."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    if len(lines) > 1 and 'does not fit' in lines[0]:
        details = []
        for line in lines[1:]:
            head, _, names = line.partition(': ')
            entries = re.split(r',\s(?![^()]*\))', names)  # commas outside shape tuples
            more = ', ...' if len(entries) > 2 else ''
            details.append(f'{head}: {", ".join(entries[:2])}{more}')
        return f"checkpoint '{source}' does not fit {where}: " + '; '.join(details)
    return ' '.join(lines)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().strip('"\'')
    return text.splitlines()[0] if text else type(err).__name__


def load_model(config=None, checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               trust_checkpoint: bool = False, model_name: Optional[str] = None,
               progress: bool = False) -> Tuple[nn.Module, Optional[object]]:
    """Build the network and load its weights.

    With ``model_name`` a released model is used (:mod:`.official_models`: the paper's
    architecture with that model's test threshold, its weights downloaded once and verified).
    With neither ``config`` nor ``checkpoint`` the demo model (:func:`default_model`) is used;
    with a checkpoint alone, the paper's architecture (:data:`PAPER_GENERATOR`). A checkpoint
    shipped with the package is verified against its sha256 first
    (:func:`verify_shipped_checkpoint`).

    Args:
        config (str | Path | Config | dict, optional): Plugin config.
        checkpoint (str, optional): Checkpoint path or URL (MMagic, plugin or bare state dict).
        device (str | torch.device): Where to put the network. Defaults to ``'cpu'``.
        trust_checkpoint (bool): Unpickle the checkpoint fully (only for files from a trusted
            source); by default only tensors and plain metadata are loaded. Defaults to False.
        model_name (str, optional): A released model (a key of ``OFFICIAL_MODELS``), instead
            of ``config`` and ``checkpoint``.
        progress (bool): Show a download's progress bar on stderr. Defaults to False.

    Returns:
        tuple[nn.Module, Config | None]: The network in eval mode and the config it came from.
    """
    from realbasicvsr_plugin.models import CheckpointError
    from realbasicvsr_plugin.models import load_checkpoint as load_weights

    generator = PAPER_GENERATOR
    where = "the paper's architecture"
    if model_name is not None:
        from .official_models import official_model

        entry = official_model(model_name)
        if config is not None or checkpoint is not None:
            raise InferenceError(f"model_name '{model_name}' names the config and checkpoint; "
                                 'give either it or them', param='model_name')
        checkpoint, generator = entry.url(), entry.generator()
        where = f"the released model '{model_name}'"
    if config is None and checkpoint is None:
        config, checkpoint = default_model()
    if checkpoint is None:
        raise InferenceError(f"config '{config}' needs a checkpoint (without one the network "
                             'would have random weights)', param='checkpoint')
    source = str(checkpoint)
    if '://' not in source and not Path(source).is_file():
        raise InferenceError(f"checkpoint not found: '{source}'")
    verify_shipped_checkpoint(source)
    cfg = load_config(config) if config is not None else None
    net = build_generator(generator_config(cfg) if cfg is not None else generator)
    if cfg is not None:
        where = f"config '{config}'"
    try:
        load_weights(net, source, strict=True, map_location='cpu',
                     trust_checkpoint=trust_checkpoint, progress=progress)
    except CheckpointError as err:
        raise InferenceError(_checkpoint_message(err, source, where),
                             param=getattr(err, 'param', None)) from err
    except (OSError, RuntimeError, EOFError, ValueError) as err:
        raise InferenceError(f"cannot load checkpoint '{source}': {type(err).__name__}: "
                             f'{_first_line(err)}') from err
    return net.to(device).eval(), cfg
