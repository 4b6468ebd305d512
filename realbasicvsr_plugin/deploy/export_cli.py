"""``realbasicvsr-export``: write a network's ONNX graphs into a folder.

Examples::

    realbasicvsr-export onnx_demo/                       # the demo model shipped with the package
    realbasicvsr-export --checkpoint model.pth onnx/     # the paper's architecture
    realbasicvsr-export --config cfg.py --checkpoint model.pth --opset 18 onnx/
    python -m realbasicvsr_plugin.deploy export --checkpoint model.pth onnx/

Errors are one line on stderr with exit status 1 (``--debug`` shows the traceback).
"""
import argparse
import inspect
import sys
from typing import List, Optional

from realbasicvsr_plugin.apis.errors import InferenceError

from .onnx_export import DEFAULT_OPSET, MIN_OPSET

PROG = 'realbasicvsr-export'


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The export command's argument parser.

    Args:
        prog (str): The program name shown in help and errors.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(
        prog=prog, description='Export RealBasicVSR to ONNX: a cleaning-pass graph and a '
        'BasicVSR graph (dynamic batch, chunk length, height and width), with the scale, the '
        'dynamic-refinement settings and the input normalisation in their metadata.')
    parser.add_argument('out_dir', metavar='OUT_DIR', help='folder for cleaning.onnx and '
                        'basicvsr.onnx (created if needed)')
    parser.add_argument('--config', help="plugin config whose model.generator is the network "
                        "(default: the demo model's; with --checkpoint alone, the paper's "
                        'architecture)')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--checkpoint', help='checkpoint path or URL (default: the demo model)')
    source.add_argument('--model', metavar='NAME', help='weights by name (where the installed '
                        'plugin resolves model names)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='unpickle the checkpoint fully (only files from a trusted source)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset, at least {MIN_OPSET} (default: {DEFAULT_OPSET})')
    parser.add_argument('--overwrite', action='store_true', help='replace graphs in OUT_DIR')
    parser.add_argument('--quiet', action='store_true', help='print nothing on success')
    parser.add_argument('--debug', action='store_true', help='show tracebacks of errors')
    return parser


def load_network(config=None, checkpoint: Optional[str] = None, model: Optional[str] = None,
                 trust_checkpoint: bool = False):
    """The network to export, through ``apis.load_model``.

    ``model`` (weights by name) is passed to ``load_model`` when the installed plugin's
    ``load_model`` takes a ``model_name`` or ``model`` parameter; otherwise it is refused in one
    line.

    Args:
        config: Plugin config.
        checkpoint (str, optional): Checkpoint path or URL.
        model (str, optional): Weights by name.
        trust_checkpoint (bool): Unpickle the checkpoint fully.

    Returns:
        nn.Module: The network, on the CPU, in eval mode.
    """
    from realbasicvsr_plugin.apis.model_loading import load_model

    kwargs = dict(device='cpu', trust_checkpoint=trust_checkpoint)
    if model is not None:
        params = inspect.signature(load_model).parameters
        name_param = next((p for p in ('model_name', 'model') if p in params), None)
        if name_param is None:
            raise InferenceError(f"model '{model}': this installation cannot load weights by "
                                 'name (load_model has no model_name parameter); pass a '
                                 'checkpoint (and its config) instead', param='model')
        kwargs[name_param] = model
    net, _ = load_model(config, checkpoint, **kwargs)
    return net


def main(argv: Optional[List[str]] = None, prog: str = PROG) -> int:
    """Run the export command.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv[1:]``).
        prog (str): Program name for messages.

    Returns:
        int: Exit status: 0 on success, 1 on an error.
    """
    from realbasicvsr_plugin.apis.cli import error_line

    args = build_parser(prog).parse_args(argv)
    try:
        from .onnx_export import export_onnx

        net = load_network(args.config, args.checkpoint, args.model, args.trust_checkpoint)
        paths = export_onnx(net, args.out_dir, opset=args.opset, overwrite=args.overwrite)
    except Exception as err:  # noqa: BLE001  (every failure becomes one line unless --debug)
        if args.debug:
            raise
        if isinstance(err, InferenceError) and err.param == 'out_dir':
            err.param = None  # a positional argument, not a flag
            err.args = (str(err).replace('out_dir', 'OUT_DIR'),)
        line = error_line(err)
        print(f'{prog}: error: {line}', file=sys.stderr)
        return 1
    if not args.quiet:
        names = ', '.join(str(p) for p in paths.values())
        print(f'{prog}: wrote {names} (x{net.scale}, opset {args.opset})', file=sys.stderr)
    return 0


def module_main(argv: Optional[List[str]] = None) -> int:
    """``python -m realbasicvsr_plugin.deploy export ...``: the same command as a sub-command.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: Exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = 'python -m realbasicvsr_plugin.deploy'
    if not argv or argv[0] != 'export':
        print(f'usage: {prog} export [--config C] [--checkpoint P | --model NAME] OUT_DIR',
              file=sys.stderr)
        return 2
    return main(argv[1:], prog=f'{prog} export')
