"""RealBasicVSR on ONNX Runtime, as a network the streaming inferencer runs unchanged.

:class:`OnnxRuntimeNet` is an ``nn.Module`` without parameters that wraps the two graphs of an
export folder (:mod:`.onnx_export`). It has the interface of
:class:`~realbasicvsr_plugin.models.RealBasicVSRNet` that the streaming path uses (``scale``,
``dynamic_refine_thres``, ``max_passes``, ``set_refinement``, ``last_passes``, ``forward`` on
``(n, t, 3, h, w)`` RGB in [0, 1]), so chunks, overlaps, tiles, audio, the atomic output and the
memory budget are those of the PyTorch backend. Around the graphs it does what the PyTorch
network does in Python: it pads frames smaller than ``min_size`` and crops the output back, and
it drives dynamic refinement (Eq. 5) per frame, running the cleaning graph again only on the
frames whose last pass still changed them by at least theta.

Everything the runtime needs comes from the graphs' metadata; a folder whose graphs are missing,
corrupt, from two different networks or of another format version is refused with one line
naming the file before any session is made.
"""
import copy
import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from realbasicvsr_plugin.apis.errors import InferenceError
from realbasicvsr_plugin.models.realbasicvsr_net import apply_refinement, clean_per_frame

from .dependencies import require
from .onnx_export import FORMAT_VERSION, GRAPH_FILES, PREFIX, weights_fingerprint

#: ``--providers`` names and ONNX Runtime's execution providers, in the order 'auto' tries them.
PROVIDERS = {'tensorrt': 'TensorrtExecutionProvider', 'cuda': 'CUDAExecutionProvider',
             'cpu': 'CPUExecutionProvider'}

#: Features (bytes) one run of the cleaning graph may hold: frames are cleaned in batches of
#: about this size, as the PyTorch network does on a CPU, so memory does not grow with the chunk.
CLEANING_BATCH_BYTES = 64 << 20


def _first_line(err: BaseException) -> str:
    text = ' '.join(str(err).split())
    return text or type(err).__name__


def default_trt_cache() -> Path:
    """Where TensorRT engines are cached by default: ``<plugin cache>/tensorrt``."""
    from realbasicvsr_plugin.cache import default_cache_dir

    return Path(default_cache_dir()) / 'tensorrt'


def select_providers(providers: Union[str, Sequence[str], None] = 'auto', fp16: bool = False,
                     trt_cache: Union[str, Path, None] = None) -> List:
    """ONNX Runtime execution providers, with their options, for ``providers``.

    ``'auto'`` takes TensorRT, then CUDA, then the CPU, as far as the installed ONNX Runtime
    has them (``onnxruntime-gpu`` brings CUDA and TensorRT). The CPU provider always comes last,
    for the operators the others leave.

    Args:
        providers (str | Sequence[str], optional): ``'auto'`` (or None), or names from
            :data:`PROVIDERS`, comma-separated or as a list, in order of preference.
        fp16 (bool): Let TensorRT build float16 engines. Needs the TensorRT provider.
        trt_cache (str | Path, optional): Folder of TensorRT's engine and timing caches
            (default: :func:`default_trt_cache`).

    Returns:
        list: Entries for ``InferenceSession(providers=...)``: names or ``(name, options)``.
    """
    ort = require('onnxruntime', 'backend onnxruntime')
    available = ort.get_available_providers()
    if providers is None or (isinstance(providers, str) and providers.strip() == 'auto'):
        names = [key for key, name in PROVIDERS.items() if name in available]
    else:
        items = providers.split(',') if isinstance(providers, str) else list(providers)
        names = [item.strip().lower() for item in items if item.strip()]
        for key in names:
            if key not in PROVIDERS:
                raise InferenceError(f"providers: unknown execution provider '{key}' (choose "
                                     f"from {', '.join(PROVIDERS)} or auto)", param='providers')
            if PROVIDERS[key] not in available:
                raise InferenceError(
                    f"providers: '{key}' ({PROVIDERS[key]}) is not available in this "
                    f"onnxruntime {ort.__version__} (available: {', '.join(available)}); "
                    'CUDA and TensorRT come with onnxruntime-gpu', param='providers')
    if fp16 and 'tensorrt' not in names:
        raise InferenceError('fp16 precision with the onnxruntime backend builds TensorRT '
                             'float16 engines, but the TensorRT provider is not selected '
                             f"(providers: {', '.join(names) or 'none'})")
    if 'cpu' not in names:
        names.append('cpu')
    chosen: List = []
    for key in names:
        if key == 'tensorrt':
            cache = str(Path(trt_cache) if trt_cache is not None else default_trt_cache())
            os.makedirs(cache, exist_ok=True)
            chosen.append((PROVIDERS[key], {
                'trt_fp16_enable': bool(fp16), 'trt_engine_cache_enable': True,
                'trt_engine_cache_path': cache, 'trt_timing_cache_enable': True,
                'trt_timing_cache_path': cache}))
        else:
            chosen.append(PROVIDERS[key])
    return chosen


def read_graph(path: Path, graph: str):
    """Read one graph of an export folder and check its metadata (not yet its weights' use).

    Args:
        path (Path): The ``.onnx`` file.
        graph (str): ``'cleaning'`` or ``'basicvsr'``.

    Returns:
        tuple: ``(model proto, metadata dict without the prefix)``.
    """
    onnx = require('onnx', 'backend onnxruntime')
    if not path.is_file():
        raise InferenceError(f"ONNX graph not found: '{path}' (write the folder with "
                             'realbasicvsr-export)')
    try:
        model = onnx.load(str(path))
    except Exception as err:  # noqa: BLE001  (protobuf raises several types on bad bytes)
        raise InferenceError(f"cannot read ONNX graph '{path}': the file is corrupt or not an "
                             f'ONNX model ({type(err).__name__}: {_first_line(err)})') from err
    meta = {p.key[len(PREFIX):]: p.value for p in model.metadata_props
            if p.key.startswith(PREFIX)}
    if 'format' not in meta:
        raise InferenceError(f"ONNX graph '{path}' is not a RealBasicVSR export (it has no "
                             f"'{PREFIX}format' metadata); write it with realbasicvsr-export")
    if meta['format'] != FORMAT_VERSION:
        raise InferenceError(
            f"ONNX graph '{path}' is in export format {meta['format']} (realbasicvsr_plugin "
            f"{meta.get('plugin_version', '?')}); this version reads format {FORMAT_VERSION}: "
            'export it again')
    if meta.get('graph') != graph:
        raise InferenceError(f"ONNX graph '{path}' holds the {meta.get('graph')!r} graph, "
                             f'expected the {graph!r} graph')
    for key in ('model_id', 'scale', 'dynamic_refine_thres', 'max_passes', 'min_size'):
        if key not in meta:
            raise InferenceError(f"ONNX graph '{path}' lacks the '{PREFIX}{key}' metadata: "
                                 'export it again')
    return model, meta


def _opset(model) -> int:
    return max((o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')),
               default=0)


class OnnxRuntimeNet(nn.Module):
    """The exported RealBasicVSR on ONNX Runtime sessions (no parameters of its own).

    Args:
        onnx_dir (str | Path): Folder written by :func:`~.onnx_export.export_onnx`.
        providers (str | Sequence[str], optional): Execution providers (see
            :func:`select_providers`). Defaults to ``'auto'``.
        fp16 (bool): TensorRT float16 engines. Defaults to False.
        trt_cache (str | Path, optional): TensorRT engine cache folder.
        threads (int, optional): Intra-op threads of the CPU provider (default: ONNX Runtime's,
            one per physical core).
        cleaning_batch_bytes (int): Feature bytes per run of the cleaning graph.
    """

    def __init__(self, onnx_dir: Union[str, Path], providers: Union[str, Sequence[str], None]
                 = 'auto', fp16: bool = False, trt_cache: Union[str, Path, None] = None,
                 threads: Optional[int] = None,
                 cleaning_batch_bytes: int = CLEANING_BATCH_BYTES) -> None:
        super().__init__()
        ort = require('onnxruntime', 'backend onnxruntime')
        if onnx_dir is None:
            raise InferenceError('backend onnxruntime needs onnx, the folder written by '
                                 'realbasicvsr-export', param='onnx')
        self.onnx_dir = Path(onnx_dir)
        if not self.onnx_dir.is_dir():
            raise InferenceError(f"ONNX folder not found: '{self.onnx_dir}'")
        graphs = {graph: read_graph(self.onnx_dir / name, graph)
                  for graph, name in GRAPH_FILES.items()}
        (_, clean_meta), (_, vsr_meta) = graphs['cleaning'], graphs['basicvsr']
        vsr_path = self.onnx_dir / GRAPH_FILES['basicvsr']
        for key in ('model_id', 'scale', 'min_size'):
            if clean_meta[key] != vsr_meta[key]:
                raise InferenceError(
                    f"ONNX graph '{vsr_path}' comes from another network than "
                    f"'{self.onnx_dir / GRAPH_FILES['cleaning']}' ({key} differs: "
                    f'{vsr_meta[key]} vs {clean_meta[key]}); export both into one folder again')
        #: metadata of the export (shared by both graphs)
        self.metadata: Dict[str, str] = dict(vsr_meta)
        self.model_id = vsr_meta['model_id']
        self.scale = int(vsr_meta['scale'])
        self.min_size = int(vsr_meta['min_size'])
        self.mid_channels = int(vsr_meta.get('mid_channels', 64))
        self.input_normalisation = json.loads(vsr_meta.get('input', '{}') or '{}')
        thres = vsr_meta['dynamic_refine_thres']
        self.set_refinement(None if thres == 'none' else float(thres), int(vsr_meta['max_passes']))
        self.last_passes: Optional[torch.Tensor] = None
        self.cleaning_batch_bytes = int(cleaning_batch_bytes)

        self.providers = select_providers(providers, fp16=fp16, trt_cache=trt_cache)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
        self.sessions = {}
        for graph, (model, _) in graphs.items():
            path = self.onnx_dir / GRAPH_FILES[graph]
            try:
                self.sessions[graph] = ort.InferenceSession(
                    model.SerializeToString(), sess_options=options, providers=self.providers)
            except Exception as err:  # noqa: BLE001  (onnxruntime's errors have no common base)
                raise InferenceError(
                    f"onnxruntime {ort.__version__} cannot run ONNX graph '{path}' (ONNX opset "
                    f'{_opset(model)}, IR version {model.ir_version}): {_first_line(err)}') from err
        del graphs

    def __deepcopy__(self, memo) -> 'OnnxRuntimeNet':
        """A copy with its own settings that shares the (stateless) ONNX Runtime sessions."""
        clone = copy.copy(self)
        clone.__dict__ = dict(self.__dict__)
        clone.metadata = dict(self.metadata)
        clone.last_passes = None
        memo[id(self)] = clone
        return clone

    # ------------------------------------------------------------------ the RealBasicVSRNet face
    def set_refinement(self, dynamic_refine_thres: Optional[float],
                       max_passes: Optional[int] = None) -> None:
        """Set theta (0-255 scale, ``None`` for one pass) and optionally the pass limit."""
        apply_refinement(self, dynamic_refine_thres, max_passes)  # the network's own rule

    @property
    def provider_names(self) -> List[str]:
        """The execution providers the sessions run on, in order of preference."""
        return list(self.sessions['basicvsr'].get_providers())

    def matches(self, net: nn.Module) -> bool:
        """Whether the graphs were exported from ``net``'s weights."""
        return weights_fingerprint(net) == self.model_id

    def _run(self, graph: str, array: np.ndarray) -> np.ndarray:
        session = self.sessions[graph]
        return session.run(None, {session.get_inputs()[0].name: array})[0]

    def _clean_once(self, frames: torch.Tensor) -> torch.Tensor:
        """Residue of one cleaning pass for a batch of frames (b, c, h, w), in batches."""
        frame_bytes = frames.size(2) * frames.size(3) * self.mid_channels * 4
        step = max(1, self.cleaning_batch_bytes // max(frame_bytes, 1))
        array = frames.detach().to('cpu', torch.float32).contiguous().numpy()
        parts = [self._run('cleaning', array[i:i + step]) for i in range(0, len(array), step)]
        return torch.from_numpy(np.concatenate(parts) if len(parts) > 1 else parts[0]).to(
            frames.device)

    def clean(self, lqs: torch.Tensor):
        """Clean every frame with per-frame dynamic refinement (Eq. 5), as the PyTorch net.

        Args:
            lqs (Tensor): (n, t, c, h, w), values in [0, 1].

        Returns:
            tuple: cleaned frames (n, t, c, h, w) and passes per frame, LongTensor (n, t).
        """
        return clean_per_frame(lqs, self._clean_once, self.dynamic_refine_thres,
                               self.max_passes)

    def forward(self, lqs: torch.Tensor) -> torch.Tensor:
        """Clean and super-resolve a sequence.

        Args:
            lqs (Tensor): LR frames (n, t, 3, h, w), RGB in [0, 1]. Not modified.

        Returns:
            Tensor: HR frames (n, t, 3, scale*h, scale*w), float32, on ``lqs``'s device. The
            passes per frame are in ``last_passes``.
        """
        if not isinstance(lqs, torch.Tensor) or lqs.dim() != 5 or lqs.size(2) != 3:
            raise ValueError('OnnxRuntimeNet expects frames of shape (n, t, 3, h, w), got '
                             f'{getattr(lqs, "shape", type(lqs).__name__)}')
        lqs = lqs.float()
        h, w = lqs.shape[-2:]
        pad_h, pad_w = max(0, self.min_size - h), max(0, self.min_size - w)
        if pad_h or pad_w:
            n, t = lqs.shape[:2]
            lqs = F.pad(lqs.flatten(0, 1), (0, pad_w, 0, pad_h),
                        mode='replicate').unflatten(0, (n, t))
        cleaned, self.last_passes = self.clean(lqs)
        array = cleaned.detach().cpu().contiguous().numpy()
        outputs = torch.from_numpy(self._run('basicvsr', array)).to(lqs.device)
        if pad_h or pad_w:
            outputs = outputs[..., :h * self.scale, :w * self.scale]
        return outputs

    def extra_repr(self) -> str:
        return (f"onnx_dir='{self.onnx_dir}', scale={self.scale}, "
                f'providers={self.provider_names}')
