"""Install realbasicvsr_plugin (metadata lives in setup.cfg)."""
import re
from pathlib import Path

from setuptools import setup


def read_version() -> str:
    text = Path(__file__).with_name('realbasicvsr_plugin').joinpath('version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


def read_requirements(name: str) -> list:
    lines = Path(__file__).with_name('requirements').joinpath(name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


setup(version=read_version(), install_requires=read_requirements('runtime.txt'),
      extras_require={'tests': read_requirements('tests.txt')})
