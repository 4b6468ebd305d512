"""Library code speaks the caller's language: errors name API parameters, never command-line
flags; only the command-line layer writes flags (issue 16, part 4)."""
import ast
import re
from pathlib import Path

import pytest

from realbasicvsr_plugin.apis import InferenceError, StreamingInferencer
from realbasicvsr_plugin.apis.cli import error_line
from realbasicvsr_plugin.apis.streaming_inferencer import check_precision, resolve_device

PACKAGE = Path(__file__).resolve().parents[1] / 'realbasicvsr_plugin'
#: The command-line layers: the only modules that may write ``--flags`` into messages.
COMMAND_LINE = {'apis/cli.py', 'deploy/export_cli.py', 'deploy/__main__.py'}
FLAG = re.compile(r'(?<![\w-])--[a-z][a-z0-9-]+')


def _raised_strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield node.lineno, sub.value


def test_no_library_error_message_names_a_flag():
    offenders = []
    for path in sorted(PACKAGE.rglob('*.py')):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in COMMAND_LINE:
            continue
        for line, text in _raised_strings(ast.parse(path.read_text())):
            if FLAG.search(text):
                offenders.append(f'{rel}:{line}: {text!r}')
    assert not offenders, '\n'.join(offenders)


def test_the_scan_would_see_a_flag():
    code = "raise ValueError(f'--tile must be positive, got {x}')"
    assert [t for _, t in _raised_strings(ast.parse(code)) if FLAG.search(t)]


def test_precision_errors_name_the_parameter_and_the_cli_the_flag():
    with pytest.raises(InferenceError) as info:
        check_precision('fp16', resolve_device('cpu'))
    assert "precision 'fp16'" in str(info.value) and '--' not in str(info.value)
    line = error_line(info.value)
    assert line.startswith('--fp16 needs a CUDA GPU') and "'fp16'" not in line


def test_device_errors_name_the_parameter_and_the_cli_the_flag():
    with pytest.raises(InferenceError) as info:
        resolve_device('tpu:9')
    assert str(info.value).startswith('device:') and '--' not in str(info.value)
    assert error_line(info.value).startswith('--device:')


def test_inferencer_option_errors_name_parameters():
    import torch.nn as nn

    with pytest.raises(InferenceError) as info:
        StreamingInferencer(nn.Identity(), device='cpu', max_seq_len=4, overlap=4)
    assert '--' not in str(info.value)
    assert '--overlap' in error_line(info.value) or '--max-seq-len' in error_line(info.value)
