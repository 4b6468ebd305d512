"""Where the plugin keeps what it downloads (checkpoints, metric model files)."""
import os
import os.path as osp

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
