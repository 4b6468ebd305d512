"""Loading RealBasicVSR checkpoints safely: paths or URLs, MMagic's layout or a bare state dict.

One entry point, :func:`load_checkpoint`, accepts

* MMagic's released RealBasicVSR checkpoints and the plugin's own MMEngine checkpoints
  (``{'state_dict': {'generator.*', 'generator_ema.*', 'discriminator.*'}, 'meta': ...}``);
  the EMA generator is preferred when present;
* a bare generator state dict, optionally under ``state_dict`` (as SPyNet's pretrained file);
* ``module.``-prefixed keys written by distributed wrappers.

A checkpoint is a pickle. It is loaded with ``torch.load(..., weights_only=True)``, which refuses any
Python object except tensors and plain containers; the few metadata types that MMEngine/MMagic
checkpoints carry (NumPy scalars and arrays, MMEngine's ``HistoryBuffer`` and ``ConfigDict``) are let
through by an explicit allowlist. A file that needs anything else is refused with
:class:`UnsafeCheckpointError`, which names the type and how to override knowingly
(``trust_checkpoint=True``, the CLI's ``--trust-checkpoint``). There is no silent fallback.

URLs are downloaded once into a cache folder (``$REALBASICVSR_PLUGIN_CACHE/checkpoints``, by default
``~/.cache/realbasicvsr_plugin/checkpoints``) by torch.hub's ``download_url_to_file`` (through
:func:`realbasicvsr_plugin.cache.fetch_url`), and verified against a sha256: the one given, or, by
torch.hub's convention, the hex prefix that the file name carries (``spynet_20210409-c6c1bd09.pth``).
"""

import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

import numpy as np
import torch
import torch.nn as nn

from realbasicvsr_plugin.cache import (ChecksumError, DownloadError, check_file_hash,
                                       default_cache_dir, fetch_url, hash_prefix_in_name,
                                       url_file_name)

__all__ = ['CheckpointError', 'UnsafeCheckpointError', 'load_checkpoint', 'load_state_dict_file',
           'extract_generator_state_dict', 'resolve_checkpoint', 'cache_dir']

_MAX_LISTED = 12


class CheckpointError(ValueError):
    """A checkpoint cannot be found, read, verified or loaded into the model."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds Python objects that the safe (weights-only) loader refuses.

    Attributes:
        param (str): The loader parameter that overrides the refusal, ``'trust_checkpoint'``
            (a command line shows its flag instead).
    """

    param = 'trust_checkpoint'


#: Parts of torch's weights-only unpickler messages that mean "a Python object not allowed",
#: as opposed to a damaged pickle ("Unsupported operand", "invalid load key", ...).
_UNSAFE_HINTS = ('unsupported global', 'unrecognized function', 'allowlisted via',
                 'allowed global')


def _looks_like_torch_file(path: Path) -> bool:
    """Whether ``path`` has the layout of a ``torch.save`` file: a zip archive holding a pickle
    (``<name>/data.pkl``), or the legacy format, which starts with a pickle's PROTO opcode."""
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return any(name.endswith('data.pkl') for name in archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return False
    with open(path, 'rb') as file:
        return file.read(1) == b'\x80'


def cache_dir() -> Path:
    """Where downloaded checkpoints are kept: ``<cache root>/checkpoints``."""
    return Path(default_cache_dir()).expanduser() / 'checkpoints'


_HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(obj, name):
    """The one use of ``getattr`` in MMEngine checkpoints, and nothing else.

    MMEngine's ``MessageHub`` state holds ``HistoryBuffer`` objects whose statistics table is
    pickled as ``getattr(HistoryBuffer, 'mean')`` and so on. A general ``getattr`` would let a
    crafted pickle walk to ``eval``; this one only hands out those class attributes.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'GLOBAL builtins.getattr on {type(obj).__name__}.{name} '
                                 'is not allowed')


def _safe_globals() -> list:
    """Types that MMEngine/MMagic checkpoint metadata needs beyond tensors and containers."""
    allowed = [np.ndarray, np.dtype, OrderedDict]
    try:  # NumPy < 2 keeps these in numpy.core.multiarray
        from numpy.core.multiarray import _reconstruct, scalar
        allowed += [_reconstruct, scalar]
    except ImportError:  # pragma: no cover - NumPy 2
        from numpy._core.multiarray import _reconstruct, scalar
        allowed += [_reconstruct, scalar]
    allowed += [type(np.dtype(t)) for t in
                ('float16', 'float32', 'float64', 'int32', 'int64', 'uint8', 'bool')]
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
        allowed += [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')]
    except ImportError:  # pragma: no cover
        pass
    try:
        from mmengine.config import ConfigDict
        allowed.append(ConfigDict)
    except ImportError:  # pragma: no cover
        pass
    return allowed


def register_safe_globals() -> None:
    """Let ``torch.load(weights_only=True)`` read MMEngine's own checkpoints everywhere.

    Since torch 2.6 ``torch.load`` unpickles weights-only by default, and MMEngine 0.10.7 calls it
    without arguments when it resumes or loads a checkpoint: its own checkpoints, whose
    ``message_hub`` holds ``HistoryBuffer`` objects and NumPy values, are then refused. Importing
    the plugin adds the allowlist above to torch's safe globals, so ``resume=True`` and
    ``load_from`` work under MMEngine's runner without turning the safe loader off.
    """
    torch.serialization.add_safe_globals(_safe_globals())


def resolve_checkpoint(path_or_url: Union[str, Path], sha256: Optional[str] = None,
                       progress: bool = False) -> Path:
    """Local path of a checkpoint given as a path or an http(s) URL (downloaded and cached).

    A URL is fetched once into :func:`cache_dir` through :func:`realbasicvsr_plugin.cache.fetch_url`
    (torch.hub's download), verified against ``sha256`` or else against the SHA-256 prefix its file
    name carries (``spynet_20210409-c6c1bd09.pth``).

    Args:
        path_or_url (str | Path): Local path or http(s) URL.
        sha256 (str, optional): Expected SHA-256 (hex, or a prefix of it). Default: None.
        progress (bool): Show the download's progress bar. Default: False.

    Returns:
        Path: The local file.

    Raises:
        CheckpointError: Not found, not downloadable, or a checksum mismatch.
    """
    text = str(path_or_url)
    try:
        if re.match(r'^https?://', text):
            expected = sha256 or hash_prefix_in_name(text)
            return fetch_url(text, 'checkpoints', expected, file_name=url_file_name(text)
                             or 'checkpoint.pth', cache_dir=str(cache_dir().parent),
                             progress=progress)
        path = Path(text).expanduser()
        if not path.is_file():
            raise CheckpointError(f'checkpoint not found: {text}')
        if sha256 is not None:
            check_file_hash(path, sha256, text)
        return path
    except ChecksumError as err:
        raise CheckpointError(str(err)) from None
    except DownloadError as err:
        raise CheckpointError(f'cannot download checkpoint {text}: {err.reason}') from err


def load_state_dict_file(path_or_url: Union[str, Path], sha256: Optional[str] = None,
                         map_location: Union[str, torch.device] = 'cpu',
                         trust_checkpoint: bool = False, progress: bool = False) -> dict:
    """Read a checkpoint file with the weights-only unpickler and the metadata allowlist.

    Args:
        path_or_url: Local path or http(s) URL.
        sha256: Expected sha256 (hex, or a prefix of it). Default: None.
        map_location: Passed to ``torch.load``. Default: 'cpu'.
        trust_checkpoint: Load with full unpickling. Only for files from a source you trust: a
            pickle can run arbitrary code. Default: False.

    Returns:
        dict: The loaded object.
    """
    path = resolve_checkpoint(path_or_url, sha256)
    if not _looks_like_torch_file(path):
        raise CheckpointError(f'cannot read checkpoint {path_or_url}: not a PyTorch checkpoint '
                              '(neither a torch.save zip archive nor a pickle), or corrupt')
    try:
        if trust_checkpoint:
            obj = torch.load(path, map_location=map_location, weights_only=False)
        else:
            # not the `safe_globals` context manager: on exit it removes its globals even when
            # they were registered before (by register_safe_globals, for MMEngine's resume)
            register_safe_globals()
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if trust_checkpoint or not any(hint in text.lower() for hint in _UNSAFE_HINTS):
            reason = text.split('WeightsUnpickler error:')[-1].strip().splitlines()[0] \
                if text.strip() else type(err).__name__
            raise CheckpointError(f'cannot read checkpoint {path_or_url}: corrupt or not a '
                                  f'PyTorch checkpoint ({reason})') from None
        found = re.search(r'(?:GLOBAL|global|function) ([\w.]+)', text)
        what = f'the Python object `{found.group(1)}`' if found else 'Python objects'
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {path_or_url}: it holds {what}, which the safe '
            '(weights-only) loader does not allow, since unpickling it could run arbitrary '
            'code; if you trust where the file comes from, pass trust_checkpoint=True') from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, ImportError) as err:
        raise CheckpointError(f'cannot read checkpoint {path_or_url}: corrupt, truncated or not '
                              f'a PyTorch checkpoint ({type(err).__name__}: {err})') from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f'checkpoint {path_or_url} holds a {type(obj).__name__}, '
                              'not a state dict')
    return obj


def extract_generator_state_dict(ckpt: Mapping, prefer_ema: bool = True) -> Dict[str, torch.Tensor]:
    """The generator's weights from any of the supported layouts.

    Args:
        ckpt: A loaded checkpoint.
        prefer_ema: Take ``generator_ema.*`` over ``generator.*`` when both exist.

    Returns:
        dict: Parameter name -> tensor, without the generator prefix.
    """
    state = ckpt.get('state_dict', ckpt)
    if 'params_ema' in state and prefer_ema:  # BasicSR-style export
        state = state['params_ema']
    elif 'params' in state and isinstance(state['params'], Mapping):
        state = state['params']
    state = {(k[7:] if k.startswith('module.') else k): v for k, v in state.items()
             if isinstance(v, torch.Tensor)}
    prefixes = ['generator_ema.', 'generator.'] if prefer_ema else ['generator.',
                                                                   'generator_ema.']
    for prefix in prefixes:
        picked = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if picked:
            return picked
    return state


def _report(missing: List[str], unexpected: List[str], shapes: List[str], source: str,
            target: nn.Module) -> str:
    def listed(names):
        more = f' ... and {len(names) - _MAX_LISTED} more' if len(names) > _MAX_LISTED else ''
        return ', '.join(names[:_MAX_LISTED]) + more

    lines = [f'checkpoint {source} does not fit {type(target).__name__} '
             '(another architecture or other sizes?):']
    if missing:
        lines.append(f'  missing keys ({len(missing)}): {listed(missing)}')
    if unexpected:
        lines.append(f'  unexpected keys ({len(unexpected)}): {listed(unexpected)}')
    if shapes:
        lines.append(f'  shape mismatches ({len(shapes)}): {listed(shapes)}')
    return '\n'.join(lines)


def load_checkpoint(module: nn.Module, path_or_url: Union[str, Path], strict: bool = True,
                    sha256: Optional[str] = None, map_location: Union[str,
                                                                     torch.device] = 'cpu',
                    prefer_ema: bool = True, trust_checkpoint: bool = False,
                    progress: bool = False) -> dict:
    """Load generator weights from a checkpoint into ``module``.

    Args:
        module: The network (for example :class:`RealBasicVSRNet`, or SPyNet).
        path_or_url: Local path or http(s) URL.
        strict: Every parameter of ``module`` must be set and every checkpoint key used, with the
            same shapes. Default: True.
        sha256: Expected sha256 of the file. Default: None.
        map_location: Device to map tensors to. Default: 'cpu'.
        prefer_ema: Prefer EMA weights. Default: True.
        trust_checkpoint: See :func:`load_state_dict_file`. Default: False.
        progress (bool): Show a download's progress bar. Default: False.

    Returns:
        dict: The whole loaded checkpoint (for its metadata).

    Raises:
        CheckpointError: The file is missing, corrupt, fails its checksum, or does not fit.
    """
    ckpt = load_state_dict_file(path_or_url, sha256, map_location, trust_checkpoint, progress)
    state = extract_generator_state_dict(ckpt, prefer_ema)
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
              for k in own if k in state and state[k].shape != own[k].shape]
    if shapes or (strict and (missing or unexpected)):
        raise CheckpointError(_report(missing, unexpected, shapes, str(path_or_url), module))
    module.load_state_dict(state, strict=strict)
    return ckpt


# Global on purpose: MMEngine's runner calls torch.load itself (resume, load_from) and would refuse
# its own checkpoints without this allowlist (see register_safe_globals); it adds only data types.
register_safe_globals()
