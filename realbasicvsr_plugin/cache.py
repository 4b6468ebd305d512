"""Where the plugin keeps what it downloads (checkpoints, metric model files), and how.

This is the plugin's one way to the network: every download goes through
:func:`fetch_url`, which leaves the transfer and its SHA-256 check to
``torch.hub.download_url_to_file`` (a temporary file beside the target, checked against the hash
prefix, then moved into place, so that an interrupted or wrong download never leaves a file). What
torch.hub does not do is kept here: the plugin's own cache folder, the check of a file already in
the cache (a damaged one is fetched again), local files checked by a full SHA-256, and errors that
say which URL and which hash.
"""
import hashlib
import os
import os.path as osp
import re
import urllib.parse
from pathlib import Path
from typing import Optional

CACHE_ENV = 'REALBASICVSR_PLUGIN_CACHE'

__all__ = ['CACHE_ENV', 'ChecksumError', 'DownloadError', 'default_cache_dir', 'sha256_of',
           'hash_prefix_in_name', 'url_file_name', 'fetch_url', 'check_file_hash']


class ChecksumError(ValueError):
    """A file's SHA-256 is not the expected one.

    Attributes:
        actual (str | None): The file's SHA-256, when known.
    """

    actual = None


class DownloadError(OSError):
    """A URL could not be downloaded (network, HTTP or file-system error).

    Args:
        url (str): The URL.
        reason (str): Why, in a few words.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f'cannot download {url}: {reason}')
        self.url = url
        self.reason = reason


def default_cache_dir() -> str:
    """The cache root: ``$REALBASICVSR_PLUGIN_CACHE``, else ``$XDG_CACHE_HOME`` or ``~/.cache``.

    Returns:
        str: ``<root>/realbasicvsr_plugin`` (or the environment variable's value as is).
        Downloads go to sub-folders: ``checkpoints/``, ``brisque/``.
    """
    if os.environ.get(CACHE_ENV):
        return os.environ[CACHE_ENV]
    root = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(root, 'realbasicvsr_plugin')


def sha256_of(path) -> str:
    """SHA-256 of a file, lowercase hex.

    Args:
        path (str | Path): The file.

    Returns:
        str: 64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def url_file_name(url: str) -> str:
    """The file name at the end of a URL's path (``''`` when the path ends with ``/``).

    Args:
        url (str): The URL.

    Returns:
        str: The file name.
    """
    return Path(urllib.parse.urlparse(url).path).name


def hash_prefix_in_name(name: str) -> Optional[str]:
    """The SHA-256 prefix that a file name carries by torch.hub's convention, if any.

    ``spynet_20210409-c6c1bd09.pth`` carries ``c6c1bd09``: the hex digits between a ``-`` and a
    ``.``, found with ``torch.hub.HASH_REGEX`` as ``load_state_dict_from_url(check_hash=True)``
    finds them.

    Args:
        name (str): A file name (or a URL, whose file name is used).

    Returns:
        str | None: The prefix, or None when the name carries none.
    """
    from torch.hub import HASH_REGEX

    if '://' in name:
        name = url_file_name(name)
    match = HASH_REGEX.search(name)
    return match.group(1) if match and match.group(1) else None


def _hash_error(url: str, expected: str, actual: Optional[str]) -> ChecksumError:
    got = f', got {actual}' if actual else ''
    err = ChecksumError(f'checksum mismatch for {url}: expected sha256 {expected}{got}; the '
                        'file is corrupt or not the one asked for')
    err.actual = actual
    return err


def fetch_url(url: str, group: str, hash_prefix: Optional[str] = None,
              file_name: Optional[str] = None, cache_dir: Optional[str] = None,
              progress: bool = False) -> Path:
    """A verified local copy of ``url`` in the cache, downloaded with torch.hub only if needed.

    Args:
        url (str): An http(s) (or file) URL.
        group (str): Sub-folder of the cache (``'checkpoints'``, ``'brisque'``, ...).
        hash_prefix (str, optional): Expected SHA-256 of the file, or a prefix of it (hex). None
            checks nothing.
        file_name (str, optional): Name of the file in the cache. Default: the URL's file name.
        cache_dir (str, optional): Cache root. Default: :func:`default_cache_dir`.
        progress (bool): Show torch.hub's download progress bar on stderr. Defaults to False.

    Returns:
        Path: ``<cache root>/<group>/<file name>``, complete and verified.

    Raises:
        ChecksumError: The download does not have the expected hash (nothing is kept).
        DownloadError: The URL cannot be downloaded.
    """
    from torch.hub import download_url_to_file

    name = file_name or url_file_name(url)
    if not name:
        raise DownloadError(url, 'the URL names no file')
    target = Path(cache_dir or default_cache_dir()).expanduser() / group / name
    prefix = hash_prefix.lower() if hash_prefix else None
    if target.is_file():
        if prefix is None or sha256_of(target).startswith(prefix):
            return target
        target.unlink()  # damaged or replaced in the cache: fetched again below
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        download_url_to_file(url, str(target), prefix, progress=progress)
    except RuntimeError as err:
        if 'invalid hash value' not in str(err):
            raise
        found = re.search(r'got "([0-9a-f]+)"', str(err))
        raise _hash_error(url, prefix, found.group(1) if found else None) from None
    except (OSError, ValueError) as err:  # URLError, HTTPError, socket and file errors
        reason = getattr(err, 'reason', None) or err
        raise DownloadError(url, str(reason)) from err
    return target


def check_file_hash(path, expected: str, source: Optional[str] = None) -> None:
    """Check a local file against an expected SHA-256 (or prefix of it).

    Args:
        path (str | Path): The file.
        expected (str): Hex digest or prefix.
        source (str, optional): How to name the file in the error. Default: the path.

    Raises:
        ChecksumError: The file's hash does not start with ``expected``.
    """
    actual = sha256_of(path)
    if not actual.startswith(expected.lower()):
        raise _hash_error(source or str(path), expected, actual)

