"""Where the plugin keeps what it downloads (checkpoints, metric model files), and how."""
import hashlib
import os
import os.path as osp
import shutil
import tempfile
import urllib.request
from typing import Callable, Optional

CACHE_ENV = 'REALBASICVSR_PLUGIN_CACHE'


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
    """SHA-256 of a file, lowercase hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, dest, verify: Optional[Callable[[str], None]] = None,
                  timeout: float = 60.0) -> None:
    """Download ``url`` to ``dest`` so that ``dest`` is either complete and verified or absent.

    The bytes go to a temporary file beside ``dest``; ``verify(temp_path)`` (which raises on a
    bad file) runs on it, and only then is it renamed into place. On any error the temporary file
    is removed and the error propagates.
    """
    folder = osp.dirname(osp.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(dest)}.', suffix='.part')
    try:
        with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        if verify is not None:
            verify(tmp)
        os.replace(tmp, dest)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
