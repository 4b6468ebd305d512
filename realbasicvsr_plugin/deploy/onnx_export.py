"""Export a RealBasicVSRNet to a folder of two ONNX graphs that carry their own settings.

The folder holds :data:`CLEANING_FILE` (one cleaning pass on a batch of frames) and
:data:`BASICVSR_FILE` (BasicVSR on a chunk of frames), both made with PyTorch's ``torch.export``
based ONNX exporter from the forms in :mod:`.graphs`. Batch, height and width are dynamic in
both; so is the chunk length of the BasicVSR graph, whose two recurrences are ONNX ``Scan``
loops (``torch.export`` expresses a loop over a dynamic dimension with the ``scan`` operator).

Each graph's ``metadata_props`` carry what the runtime needs, so it reads no config:
the scale, the test threshold and pass limit of dynamic refinement, the smallest frame size,
the input normalisation and layout, the folder format, and a fingerprint of the weights that
ties the two graphs to the same network.
"""
import copy
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

import torch
from torch import nn

from realbasicvsr_plugin.apis.errors import InferenceError
from realbasicvsr_plugin.version import __version__

from .dependencies import require

#: File names of the graphs in an export folder.
CLEANING_FILE = 'cleaning.onnx'
BASICVSR_FILE = 'basicvsr.onnx'
GRAPH_FILES = {'cleaning': CLEANING_FILE, 'basicvsr': BASICVSR_FILE}

#: Version of the folder's layout and metadata; the runtime refuses other versions.
FORMAT_VERSION = '1'

#: Prefix of the metadata keys.
PREFIX = 'realbasicvsr.'

#: The lowest opset accepted (GridSample needs 16; the dynamo exporter's translations need 17+).
MIN_OPSET = 17
DEFAULT_OPSET = 18

#: What the graphs expect as input: RGB in [0, 1], float32, no mean/std applied outside.
INPUT_NORMALISATION = dict(colour='RGB', range=[0.0, 1.0], mean=[0.0, 0.0, 0.0],
                           std=[1.0, 1.0, 1.0], dtype='float32')


def weights_fingerprint(net: nn.Module) -> str:
    """SHA-256 of a network's weights and buffers (names, dtypes, shapes and values).

    Args:
        net (nn.Module): The network.

    Returns:
        str: 64 hex digits; equal for equal weights, whatever device or memory format.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f'{name}|{value.dtype}|{tuple(value.shape)}|'.encode())
        digest.update(value.numpy().tobytes() if value.dtype != torch.bfloat16
                      else value.float().numpy().tobytes())
    return digest.hexdigest()


def graph_metadata(net: nn.Module, graph: str, opset: int) -> Dict[str, str]:
    """The metadata one exported graph carries.

    Args:
        net (nn.Module): The ``RealBasicVSRNet`` exported.
        graph (str): ``'cleaning'`` or ``'basicvsr'``.
        opset (int): The ONNX opset of the export.

    Returns:
        dict[str, str]: ``metadata_props`` (keys with the :data:`PREFIX`).
    """
    thres = net.dynamic_refine_thres
    layout = 'NCHW (a batch of frames)' if graph == 'cleaning' else \
        'NTCHW (batch, frames of a chunk, channels, height, width)'
    meta = dict(
        format=FORMAT_VERSION, graph=graph, plugin_version=__version__,
        model_id=weights_fingerprint(net), scale=str(int(net.scale)),
        dynamic_refine_thres='none' if thres is None else repr(float(thres)),
        max_passes=str(int(net.max_passes)), min_size=str(int(net.min_size)),
        mid_channels=str(int(net.mid_channels)), opset=str(opset),
        input=json.dumps(dict(INPUT_NORMALISATION, layout=layout)))
    return {PREFIX + key: value for key, value in meta.items()}


class _PlainPath:
    """Context: the network's CPU cache tiling off, so only the plain path is traced."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        self.saved = None

    def __enter__(self):
        if hasattr(self.net, 'cpu_cache_bytes'):
            self.saved = self.net.cpu_cache_bytes
            self.net.cpu_cache_bytes = 0
        return self.net

    def __exit__(self, *exc) -> None:
        if self.saved is not None:
            self.net.cpu_cache_bytes = self.saved


class _Frozen:
    """Context: no parameter requires a gradient (the export then traces no backward graph)."""

    def __init__(self, net: nn.Module) -> None:
        self.params = [p for p in net.parameters() if p.requires_grad]

    def __enter__(self) -> None:
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc) -> None:
        for p in self.params:
            p.requires_grad_(True)


def _export_graph(module: nn.Module, example: torch.Tensor, dynamic: Sequence[int], path: Path,
                  input_name: str, output_name: str, opset: int,
                  metadata: Dict[str, str]) -> None:
    """Export one graph with ``torch.onnx.export(dynamo=True)``, check it, add metadata.

    The dimensions in ``dynamic`` are ``Dim.DYNAMIC``: ``torch.export`` may narrow their ranges
    while tracing (it records, e.g., that SPyNet's coarsest level is taken as larger than one
    pixel) without failing; ONNX keeps no ranges, and the tests run the graphs on the sizes
    outside them that inference meets (one frame, frames of ``min_size``).
    """
    onnx = require('onnx', 'exporting to ONNX', param='out_dir')
    require('onnxscript', 'exporting to ONNX', param='out_dir')
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')
        program = torch.onnx.export(
            module, (example,), input_names=[input_name], output_names=[output_name],
            dynamic_shapes=({k: torch.export.Dim.DYNAMIC for k in dynamic},),
            opset_version=opset, dynamo=True, external_data=False, verbose=False,
            optimize=True, report=False)
    model = program.model_proto
    model.producer_name = 'realbasicvsr_plugin'
    model.producer_version = __version__
    model.doc_string = f'RealBasicVSR {metadata[PREFIX + "graph"]} graph'
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model, full_check=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.part')
    os.close(fd)
    try:
        onnx.save_model(model, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def export_onnx(net: nn.Module, out_dir: Union[str, Path], opset: int = DEFAULT_OPSET,
                overwrite: bool = False, example_size: Optional[tuple] = None) -> Dict[str, Path]:
    """Export a ``RealBasicVSRNet`` to ``out_dir/cleaning.onnx`` and ``out_dir/basicvsr.onnx``.

    Args:
        net (nn.Module): The network (its refinement settings are recorded as the test ones).
        out_dir (str | Path): Folder to write (created if needed).
        opset (int): ONNX opset, at least :data:`MIN_OPSET`. Defaults to :data:`DEFAULT_OPSET`.
        overwrite (bool): Replace graphs already in ``out_dir``. Defaults to False.
        example_size (tuple, optional): ``(h, w)`` of the example frames traced; the graphs
            accept any size. Defaults to ``(max(min_size, 64), max(min_size, 64) + 16)``.

    Returns:
        dict[str, Path]: ``{'cleaning': path, 'basicvsr': path}``.
    """
    from .graphs import BasicVSRGraph, CleaningGraph

    if isinstance(opset, bool) or not isinstance(opset, int) or opset < MIN_OPSET:
        raise InferenceError(f'opset must be an integer >= {MIN_OPSET}, got {opset!r}',
                             param='opset')
    for attr in ('image_cleaning', 'basicvsr', 'scale', 'dynamic_refine_thres', 'max_passes',
                 'min_size'):
        if not hasattr(net, attr):
            raise InferenceError(f'net: only a RealBasicVSRNet can be exported, '
                                 f'{type(net).__name__} has no {attr!r}', param='net')
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InferenceError(f"out_dir '{out_dir}' is a file, not a folder", param='out_dir')
    paths = {graph: out_dir / name for graph, name in GRAPH_FILES.items()}
    if not overwrite:
        for path in paths.values():
            if path.exists():
                raise InferenceError(f"'{path}' exists; set overwrite to replace it",
                                     param='overwrite')
    out_dir.mkdir(parents=True, exist_ok=True)

    # a copy in the default (NCHW) layout: the network keeps its weights ``channels_last``, and
    # torch.export's Scan needs its loop state in one memory format throughout
    net = copy.deepcopy(net).cpu().eval().float().to(memory_format=torch.contiguous_format)
    side = max(int(net.min_size), 64)
    h, w = example_size or (side, side + 16)
    with _PlainPath(net), _Frozen(net):
        _export_graph(CleaningGraph(net).eval(), torch.rand(2, 3, h, w),
                      (0, 2, 3),
                      paths['cleaning'], 'frames', 'residue', opset,
                      graph_metadata(net, 'cleaning', opset))
        _export_graph(BasicVSRGraph(net).eval(), torch.rand(2, 3, 3, h, w),
                      (0, 1, 3, 4),
                      paths['basicvsr'], 'lrs', 'outputs', opset,
                      graph_metadata(net, 'basicvsr', opset))
    return paths
