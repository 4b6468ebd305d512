"""``python -m realbasicvsr_plugin.deploy export [options] OUT_DIR``."""
import sys

from .export_cli import module_main

if __name__ == '__main__':
    sys.exit(module_main())
