"""The package builds into a wheel that carries its configs."""
import shutil
import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_ships_the_configs_and_the_package(tmp_path):
    # build from a copy, so that the build leaves nothing in the work tree
    src = tmp_path / 'src'
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        '.git', '.venv', 'data', 'work_dirs', 'build', '*.egg-info', '__pycache__', 'outputs'))
    out = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                          '-q', '-w', str(tmp_path), str(src)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob('realbasicvsr_plugin-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ('realbasicvsr_plugin/.mim/configs/realbasicvsr_stage1.py',
                     'realbasicvsr_plugin/.mim/configs/realbasicvsr_stage2.py',
                     'realbasicvsr_plugin/.mim/configs/_base_/default_runtime.py',
                     'realbasicvsr_plugin/registry.py',
                     'realbasicvsr_plugin/models/realbasicvsr_net.py',
                     # the main job's defaults: the demo model and the low-quality clip
                     'realbasicvsr_plugin/weights/realbasicvsr_demo.pth',
                     'realbasicvsr_plugin/weights/realbasicvsr_demo_config.py',
                     'realbasicvsr_plugin/weights/SHA256SUMS',  # what the loader verifies by
                     'realbasicvsr_plugin/demo/coffee_lq.mp4',
                     # the command's entry point, outside the package (see its docstring)
                     'realbasicvsr_command.py'):
        assert expected in names, expected
    entry = [n for n in names if n.endswith('entry_points.txt')]
    assert entry and 'realbasicvsr = realbasicvsr_command:main' in \
        zipfile.ZipFile(wheel).read(entry[0]).decode()


def test_one_opencv_distribution_and_the_host_imports():
    from importlib.metadata import distributions
    opencv = sorted({d.metadata['Name'].lower() for d in distributions()
                     if d.metadata['Name'] and d.metadata['Name'].lower().startswith('opencv')})
    assert opencv == ['opencv-python-headless'], opencv
    import cv2
    import mmagic.models  # noqa: F401
    import mmcv.ops  # noqa: F401  (the compiled ops of the source build)
    assert cv2.__version__.startswith('4.11')
