"""Install realbasicvsr_plugin (metadata lives in setup.cfg)."""
import re
from pathlib import Path

import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithConfigs(build_py):
    """Ship ``configs/`` inside the package (``realbasicvsr_plugin/.mim/configs``), as OpenMMLab
    packages do, so that an installed plugin has its configs (``realbasicvsr_plugin.config_dir()``).
    An editable install reads them from the source tree instead."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = Path(self.build_lib) / 'realbasicvsr_plugin' / '.mim' / 'configs'
        shutil.copytree(Path(__file__).with_name('configs'), target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns('__pycache__'))


def read_version() -> str:
    text = Path(__file__).with_name('realbasicvsr_plugin').joinpath('version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


def read_requirements(name: str) -> list:
    lines = Path(__file__).with_name('requirements').joinpath(name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


setup(version=read_version(),
      cmdclass={'build_py': BuildPyWithConfigs},
      install_requires=read_requirements('runtime.txt'),
      extras_require={'tests': read_requirements('tests.txt'),
                      'deploy': read_requirements('deploy.txt'),
                      'demo-data': read_requirements('demo_data.txt')})
