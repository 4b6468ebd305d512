"""Obtaining a metric's model data at run time, the way torchvision obtains weights.

A :class:`ModelFile` names a file, where to download it and its SHA-256. :func:`fetch_model_file`
returns a verified local path, trying in order:

1. an explicit local folder (argument, or the environment variable the caller names);
2. the cache folder (``$REALBASICVSR_PLUGIN_CACHE`` or ``~/.cache/realbasicvsr_plugin``);
3. a download from the base URL (argument, environment variable, or the file's default) into the
   cache, by torch.hub's ``download_url_to_file`` through :func:`realbasicvsr_plugin.cache.fetch_url`
   (a temporary file, checked, then renamed, so that an interrupted or wrong download never leaves a
   file in the cache).

A file whose SHA-256 differs gets a :class:`ChecksumError`; when nothing works a
:class:`ModelFileUnavailableError` says what was tried and what to do.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional

__all__ = ['ModelFile', 'ChecksumError', 'ModelFileUnavailableError', 'fetch_model_file',
           'default_cache_dir', 'sha256_of']

from realbasicvsr_plugin.cache import (CACHE_ENV, ChecksumError,  # noqa: F401
                                       DownloadError, default_cache_dir, fetch_url, sha256_of)


class ModelFileUnavailableError(RuntimeError):
    """A model file could be found neither locally, nor in the cache, nor downloaded."""


@dataclass(frozen=True)
class ModelFile:
    """A model data file that a metric obtains at run time.

    Args:
        name (str): File name (as in the official release).
        sha256 (str): Expected SHA-256, lowercase hex.
        base_url (str): Default download folder URL; the file is ``base_url + name``.
        group (str): Sub-folder of the cache (e.g. ``'brisque'``).
        help (str): What a user can do when the file cannot be obtained.
    """

    name: str
    sha256: str
    base_url: str
    group: str
    help: str = ''


def _mismatch(spec: ModelFile, source: str, actual: Optional[str]) -> ChecksumError:
    got = f'has SHA-256 {actual}' if actual else 'has another SHA-256'
    return ChecksumError(
        f"{spec.group} model file '{spec.name}' from {source} {got}, expected "
        f'{spec.sha256}: it is not the official file (a different release, a damaged or '
        f'converted copy). {spec.help}')


def _check(path: str, spec: ModelFile, source: str) -> None:
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise _mismatch(spec, source, actual)


def fetch_model_file(spec: ModelFile,
                     local_dir: Optional[str] = None,
                     local_dir_env: Optional[str] = None,
                     cache_dir: Optional[str] = None,
                     base_url: Optional[str] = None,
                     base_url_env: Optional[str] = None,
                     check_hash: bool = True,
                     download: bool = True) -> str:
    """A verified local path of a model file: local folder, cache, or download.

    Args:
        spec (ModelFile): The file.
        local_dir (str, optional): Folder that holds the file; when given (or set through
            ``local_dir_env``) it is the only place looked at.
        local_dir_env (str, optional): Environment variable that may name such a folder.
        cache_dir (str, optional): Cache root. Defaults to :func:`default_cache_dir`.
        base_url (str, optional): Download folder URL. Defaults to ``base_url_env``'s value,
            else ``spec.base_url``.
        base_url_env (str, optional): Environment variable that may name the download URL.
        check_hash (bool): Verify the SHA-256 (turn off only for a model of your own).
            Defaults to True.
        download (bool): Allow downloading. Defaults to True.

    Returns:
        str: Path of the verified file.
    """
    local_dir = local_dir or (os.environ.get(local_dir_env) if local_dir_env else None)
    if local_dir:
        path = osp.join(osp.expanduser(local_dir), spec.name)
        if not osp.isfile(path):
            where = f' (from ${local_dir_env})' if local_dir_env and \
                os.environ.get(local_dir_env) == local_dir else ''
            raise ModelFileUnavailableError(
                f"{spec.group} model file '{spec.name}' is not in the folder {local_dir}{where}. "
                f'{spec.help}')
        if check_hash:
            _check(path, spec, path)
        return path

    cache_root = cache_dir or default_cache_dir()
    cached = osp.join(cache_root, spec.group, spec.name)
    tried: List[str] = []
    if osp.isfile(cached):
        if not check_hash or sha256_of(cached) == spec.sha256:
            return cached
        tried.append(f'cache {cached} (wrong SHA-256, replaced)')
        os.remove(cached)
    else:
        tried.append(f'cache {cached} (absent)')

    if not download:
        raise ModelFileUnavailableError(
            f"{spec.group} model file '{spec.name}' is not available and downloading is off; "
            f"tried: {'; '.join(tried)}. {spec.help}")
    url_root = base_url or (os.environ.get(base_url_env) if base_url_env else None) \
        or spec.base_url
    url = url_root.rstrip('/') + '/' + spec.name
    try:
        return str(fetch_url(url, spec.group, spec.sha256 if check_hash else None,
                             file_name=spec.name, cache_dir=cache_root))
    except ChecksumError as err:
        raise _mismatch(spec, url, err.actual) from None
    except DownloadError as err:
        tried.append(f'download {url} ({err.reason})')
        raise ModelFileUnavailableError(
            f"cannot obtain the {spec.group} model file '{spec.name}'; tried: "
            f"{'; '.join(tried)}. {spec.help}") from err
