"""The VideoLQ benchmark (paper Table 2): a model and a bicubic baseline scored per video.

``DATA_ROOT/<video>/<frame>.png`` holds low-quality videos without ground truth. For every video
the model restores the frames (:class:`~realbasicvsr_plugin.apis.StreamingInferencer`), the
selected output frames and the same frames of a bicubic upscale of the input are scored with the
plugin's ``NIQE``/``BRISQUE`` metric classes (per video, then the mean over videos, every video
weighing the same), and a side-by-side picture is made of one frame.

*How* frames are scored is an :class:`EvaluationProtocol`, written into every result so that
tables made with different settings are never mixed:

* ``'release'``: the official MATLAB releases' settings, every frame (MATLAB ``rgb2gray``, no
  border removed);
* ``'paper'``: as the RealBasicVSR authors evaluated (see :data:`PAPER_PROTOCOL`).

``scripts/evaluate_videolq.py`` is the command line over :func:`evaluate_videolq`.
"""
import csv
import io
import json
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from realbasicvsr_plugin.apis.errors import InferenceError
from .metrics.luminance import quantize_uint8
from .metrics.matlab_resize import matlab_imresize
from .metrics.no_reference_metric import FRAME_SELECTIONS, select_frames, validate_frames
from .metrics.perceptual_index import check_metric_available

__all__ = [
    'EvaluationError', 'EvaluationProtocol', 'PROTOCOLS', 'PAPER_PROTOCOL', 'RELEASE_PROTOCOL',
    'resolve_protocol', 'list_videos', 'read_video_frames', 'bicubic_upscale', 'build_model',
    'evaluate_videolq', 'format_tables', 'write_results', 'parse_frames', 'METRIC_NAMES',
    'IMG_EXTS'
]

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
METRIC_NAMES = ('NIQE', 'BRISQUE')
FrameSpec = Union[str, Sequence[int]]


class EvaluationError(InferenceError):
    """Bad input for the evaluation: folder layout, frames, options.

    An :class:`~realbasicvsr_plugin.apis.InferenceError`: the message names the file or the
    parameter (``param``), which the command line replaces by its flag.
    """


@dataclass(frozen=True)
class EvaluationProtocol:
    """How the frames of a benchmark are chosen, converted and compared.

    Args:
        name (str): ``'release'``, ``'paper'``, or ``'custom'`` when settings were changed.
        frames (str | tuple[int, ...]): Frames of each video scored, see
            :func:`~realbasicvsr_plugin.evaluation.select_frames`.
        convert_to (str): Plane scored: ``'gray'`` (MATLAB ``rgb2gray``) or ``'y'`` (Y of
            MATLAB ``rgb2ycbcr``).
        crop_border (int): Pixels shaved off each edge of that plane before scoring.
        baseline (str): How the baseline row is made.
        based_on (str): The named protocol a ``'custom'`` one started from.
        source (str): Where the settings come from.
    """

    name: str
    frames: Union[str, Tuple[int, ...]]
    convert_to: str
    crop_border: int
    baseline: str = 'MATLAB imresize(input, scale) (its default bicubic), rounded to uint8'
    based_on: str = ''
    source: str = ''

    def as_dict(self) -> dict:
        """The protocol as plain JSON-able data (frames as a name or a list of indices)."""
        out = asdict(self)
        if not isinstance(self.frames, str):
            out['frames'] = list(self.frames)
        return out

    def label(self) -> str:
        """One string that identifies the settings, for a CSV column."""
        frames = self.frames if isinstance(self.frames, str) else \
            ','.join(str(i) for i in self.frames)
        base = f'{self.name}' + (f' (from {self.based_on})' if self.based_on else '')
        return (f'{base}: frames={frames}; plane={self.convert_to}; '
                f'crop_border={self.crop_border}; baseline=matlab-bicubic')


RELEASE_PROTOCOL = EvaluationProtocol(
    name='release', frames='all', convert_to='gray', crop_border=0,
    source='the LIVE MATLAB releases of NIQE and BRISQUE (rgb2gray of the 8-bit image, no '
           'border removed); every frame')

#: As the RealBasicVSR authors evaluated (RealBasicVSR repository, issues #22 and #26):
#: all 50 VideoLQ videos; frames 00000000, 00000050 and 00000099 of each (first, middle and last
#: of a 100-frame clip; shorter clips give their first, middle (n // 2) and last frame, which the
#: authors did not specify); NIQE with PIRM2018's evaluation code (utils/calc_scores.m,
#: convert_shave_image.m: the Y channel of rgb2ycbcr, shave_width = 4 in evaluate_results.m),
#: and the bicubic row from MATLAB's default imresize of the input, x4. BRISQUE is scored on the
#: same plane (the authors did not say; PIRM2018 has no BRISQUE).
PAPER_PROTOCOL = EvaluationProtocol(
    name='paper', frames='first_middle_last', convert_to='y', crop_border=4,
    source='RealBasicVSR issues #22 (frames 00000000/00000050/00000099, PIRM2018 code) and #26 '
           '(bicubic row: MATLAB imresize x4 of the input); PIRM2018 evaluate_results.m '
           '(shave_width = 4) and convert_shave_image.m (Y of rgb2ycbcr); BRISQUE on the same '
           'plane (not stated by the authors)')

PROTOCOLS: Dict[str, EvaluationProtocol] = {'release': RELEASE_PROTOCOL, 'paper': PAPER_PROTOCOL}


def resolve_protocol(protocol: Union[str, EvaluationProtocol] = 'release',
                     frames: Optional[FrameSpec] = None, convert_to: Optional[str] = None,
                     crop_border: Optional[int] = None) -> EvaluationProtocol:
    """A named protocol with optional changes; any change that differs makes it ``'custom'``.

    Args:
        protocol (str | EvaluationProtocol): ``'release'``, ``'paper'`` or a protocol.
        frames (str | Sequence[int], optional): Replaces the protocol's frames.
        convert_to (str, optional): Replaces the protocol's plane.
        crop_border (int, optional): Replaces the protocol's border shave.

    Returns:
        EvaluationProtocol: The protocol to apply.
    """
    if isinstance(protocol, str):
        if protocol not in PROTOCOLS:
            raise EvaluationError(f'protocol must be one of {sorted(PROTOCOLS)}, got '
                                  f'{protocol!r}', param='protocol')
        protocol = PROTOCOLS[protocol]
    changes = {}
    if frames is not None:
        try:
            validate_frames(frames)
        except ValueError as err:
            raise EvaluationError(str(err), param='frames') from None
        frames = frames if isinstance(frames, str) else tuple(int(i) for i in frames)
        if frames != protocol.frames:
            changes['frames'] = frames
    if convert_to is not None:
        if convert_to not in ('gray', 'y'):
            raise EvaluationError(f"convert_to must be 'gray' or 'y', got {convert_to!r}",
                                  param='convert_to')
        if convert_to != protocol.convert_to:
            changes['convert_to'] = convert_to
    if crop_border is not None:
        if isinstance(crop_border, bool) or not isinstance(crop_border, int) or crop_border < 0:
            raise EvaluationError(f'crop_border must be an integer >= 0, got {crop_border!r}',
                                  param='crop_border')
        if crop_border != protocol.crop_border:
            changes['crop_border'] = crop_border
    if not changes:
        return protocol
    return replace(protocol, name='custom', based_on=protocol.name, **changes)


# --------------------------------------------------------------------------- reading frames
def list_videos(data_root: str) -> List[Tuple[str, List[str]]]:
    """Video folders of a VideoLQ-layout root and their frame files, sorted by name.

    Args:
        data_root (str): ``DATA_ROOT/<video>/<frame>.<ext>``.

    Returns:
        list[tuple[str, list[str]]]: ``(video name, frame paths)`` per video.
    """
    if not osp.isdir(data_root):
        raise EvaluationError(f"data root '{data_root}' is not a folder")
    entries = sorted(os.listdir(data_root))
    folders = [e for e in entries if osp.isdir(osp.join(data_root, e))]
    if not folders:
        loose = [e for e in entries if e.lower().endswith(IMG_EXTS)]
        hint = (f' (it holds {len(loose)} images directly: put them in a sub-folder, '
                f'{data_root}/<video>/<frame>.png)') if loose else ''
        raise EvaluationError(f"no video folders in '{data_root}'{hint}; expected the VideoLQ "
                              'layout DATA_ROOT/<video>/<frame>.png')
    videos = []
    for name in folders:
        folder = osp.join(data_root, name)
        frames = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMG_EXTS))
        if not frames:
            raise EvaluationError(f"video folder '{folder}' has no frames ({', '.join(IMG_EXTS)})")
        videos.append((name, [osp.join(folder, f) for f in frames]))
    return videos


def read_video_frames(paths: Sequence[str], video: str) -> Tuple[np.ndarray, List[str]]:
    """Read a video's frames as 8-bit RGB.

    Gray frames are replicated to three channels and an alpha channel is dropped; both are
    returned as notes for the caller to report.

    Args:
        paths (Sequence[str]): Frame files, in order.
        video (str): Video name, for messages.

    Returns:
        tuple[np.ndarray, list[str]]: ``(t, h, w, 3)`` uint8 RGB frames and the notes.
    """
    frames, notes = [], set()
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise EvaluationError(f"cannot read frame '{path}' (not an image or damaged)")
        if img.dtype != np.uint8:
            raise EvaluationError(f"frame '{path}' is {img.dtype}; only 8-bit frames are "
                                  'supported')
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
            notes.add('gray frames replicated to 3 channels')
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
            notes.add('alpha channel dropped')
        elif img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        else:
            raise EvaluationError(f"frame '{path}' has {img.shape[2]} channels")
        if frames and img.shape != frames[0].shape:
            raise EvaluationError(
                f"video '{video}' mixes frame sizes: '{path}' is {img.shape[1]}x{img.shape[0]}, "
                f"'{paths[0]}' is {frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(img)
    return np.stack(frames), sorted(notes)


def bicubic_upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB ``imresize(frame, scale)`` (its default bicubic), rounded to 8 bits.

    Args:
        frame (np.ndarray): ``(h, w, 3)`` uint8.
        scale (int): Upscaling factor.

    Returns:
        np.ndarray: ``(scale*h, scale*w, 3)`` uint8.
    """
    return quantize_uint8(matlab_imresize(frame, scale)).astype(np.uint8)


# --------------------------------------------------------------------------- the model
def build_model(config, checkpoint: Optional[str] = None, random_init: bool = False,
                cfg_options: Optional[dict] = None, device: str = 'cpu',
                trust_checkpoint: bool = False):
    """The generator of a plugin config with a checkpoint's weights (:func:`apis.load_model`).

    Args:
        config (str | Config): Plugin config whose ``model.generator`` is built.
        checkpoint (str, optional): Checkpoint path or URL.
        random_init (bool): Build without a checkpoint (random weights; for testing the
            pipeline only, the scores mean nothing). Defaults to False.
        cfg_options (dict, optional): Overrides merged into the config.
        device (str): Torch device. Defaults to 'cpu'.
        trust_checkpoint (bool): Unpickle the checkpoint fully. Defaults to False.

    Returns:
        torch.nn.Module: The network in eval mode.
    """
    from realbasicvsr_plugin.apis.model_loading import (build_generator, generator_config,
                                                        load_config, load_model)
    cfg = load_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if random_init:
        if checkpoint is not None:
            raise EvaluationError('random_init and a checkpoint exclude each other',
                                  param='random_init')
        return build_generator(generator_config(cfg)).to(device).eval()
    if checkpoint is None:
        raise EvaluationError('give a checkpoint (or random_init to test the pipeline with '
                              'random weights, whose scores mean nothing)', param='checkpoint')
    # the config's own name in load_model's messages, unless it was changed here
    net, _ = load_model(cfg if cfg_options else config, checkpoint, device=device,
                        trust_checkpoint=trust_checkpoint)
    return net


# --------------------------------------------------------------------------- scoring
def _build_metrics(names: Sequence[str], protocol: EvaluationProtocol,
                   brisque_dir: Optional[str], skip_undefined: bool) -> dict:
    from .metrics.brisque import BRISQUE
    from .metrics.niqe import NIQE
    classes = {'NIQE': NIQE, 'BRISQUE': BRISQUE}
    for name in names:
        check_metric_available(name)
        if name not in classes:
            raise EvaluationError(f'metrics: unknown metric {name!r} (choose from '
                                  f'{list(METRIC_NAMES)})', param='metrics')
    common = dict(crop_border=protocol.crop_border, convert_to=protocol.convert_to,
                  input_order='HWC', channel_order='rgb', frames='all',
                  skip_undefined=skip_undefined, report_per_video=True)
    out = {}
    for name in names:
        extra = {'model_dir': brisque_dir} if name == 'BRISQUE' else {}
        # one instance for the model's frames, one for the baseline's; BRISQUE's regressor is
        # loaded once (cached) and a missing model file fails here, before any inference
        out[name] = {row: classes[name](**common, **extra) for row in ('bicubic', 'model')}
    return out


def _per_video_means(metric, videos: Sequence[str]) -> Tuple[Dict[str, Optional[float]],
                                                             Optional[float]]:
    from .metrics.natural_scene_statistics import UndefinedScoreError
    try:
        scores = metric.compute_metrics(metric.results)
    except UndefinedScoreError:  # no frame of any video could be scored
        return {v: None for v in videos}, None
    name = metric.metric
    return {v: scores.get(f'{name}/{v}') for v in videos}, scores[name]


def evaluate_videolq(data_root: str,
                     model,
                     protocol: Union[str, EvaluationProtocol] = 'release',
                     metrics: Sequence[str] = METRIC_NAMES,
                     brisque_dir: Optional[str] = None,
                     skip_undefined: bool = False,
                     device: str = 'cpu',
                     max_seq_len: Optional[int] = None,
                     dynamic_refine_thres: Union[float, str, None] = None,
                     max_passes: Optional[int] = None,
                     scale: Optional[int] = None,
                     method_name: str = 'RealBasicVSR',
                     pictures: bool = True,
                     on_video: Optional[Callable[[str, dict, List[str]], None]] = None) -> dict:
    """Evaluate a model and the bicubic baseline on a VideoLQ-layout folder.

    Args:
        data_root (str): ``DATA_ROOT/<video>/<frame>.png``.
        model (torch.nn.Module): The network (e.g. from :func:`build_model`).
        protocol (str | EvaluationProtocol): ``'release'``, ``'paper'`` or a protocol from
            :func:`resolve_protocol`. Defaults to 'release'.
        metrics (Sequence[str]): Among ``'NIQE'``, ``'BRISQUE'``. Defaults to both.
        brisque_dir (str, optional): Folder with BRISQUE's model files (else the cache or a
            download, see ``docs/evaluation.md``).
        skip_undefined (bool): Leave out frames whose score is undefined. Defaults to False.
        device (str): Torch device. Defaults to 'cpu'.
        max_seq_len (int, optional): Frames per forward pass, in chunks without overlap (as
            the original RealBasicVSR inference script); None: the whole video at once.
        dynamic_refine_thres (float | str, optional): Test-time theta of dynamic refinement
            (0-255 scale; ``'off'``: one pass); None keeps the network's.
        max_passes (int, optional): Pass limit of dynamic refinement; None keeps the network's.
        scale (int, optional): Upscaling factor; defaults to the network's.
        method_name (str): Name of the model's row. Defaults to 'RealBasicVSR'.
        pictures (bool): Make a side-by-side picture per video (``results['pictures']``).
            Defaults to True.
        on_video (callable, optional): Called after each video is restored and scored with
            its name, its entry so far (``num_frames``, ``scored_frames``, ``seconds``; the
            means come at the end) and the notes on its frames (gray or alpha frames
            converted), e.g. to report progress.

    Returns:
        dict: ``protocol`` (:meth:`EvaluationProtocol.as_dict`), ``settings``, ``videos``
        (per video: ``num_frames``, ``scored_frames``, ``bicubic``/``model`` per metric,
        ``seconds``), ``mean`` (``bicubic``/``model`` per metric, each video weighing the same)
        and, with ``pictures``, ``pictures`` (video -> BGR picture, not JSON-able; see
        :func:`write_results`).
    """
    from realbasicvsr_plugin.apis.streaming_inferencer import StreamingInferencer, to_uint8
    from .comparison_picture import side_by_side
    from .metrics.natural_scene_statistics import UndefinedScoreError

    if not isinstance(protocol, EvaluationProtocol):
        protocol = resolve_protocol(protocol)
    if max_seq_len is not None and (isinstance(max_seq_len, bool) or max_seq_len < 1):
        raise EvaluationError(f'max_seq_len must be >= 1, got {max_seq_len}',
                              param='max_seq_len')
    metrics = list(metrics)
    videos = list_videos(data_root)
    scorers = _build_metrics(metrics, protocol, brisque_dir, skip_undefined)
    inferencer = StreamingInferencer(model, device=device, max_seq_len=max_seq_len, overlap=0,
                                     dynamic_refine_thres=dynamic_refine_thres, max_passes=max_passes)
    scale = scale or inferencer.scale

    results = dict(
        protocol=protocol.as_dict(),
        settings=dict(data_root=osp.abspath(data_root), metrics=metrics, method=method_name,
                      dynamic_refine_thres=dynamic_refine_thres, max_passes=max_passes,
                      max_seq_len=max_seq_len, scale=scale),
        videos={}, mean={})
    pics = {}
    for name, paths in videos:
        start = time.perf_counter()
        frames, notes = read_video_frames(paths, name)
        try:
            picks = select_frames(len(frames), protocol.frames)
        except ValueError as err:
            raise EvaluationError(f"video '{name}': {err}", param='frames') from err
        show = picks[len(picks) // 2]
        chosen = set(picks)
        for idx, out in enumerate(inferencer.restore(iter(frames))):
            if idx not in chosen:
                continue
            sr = to_uint8(out)
            bic = bicubic_upscale(frames[idx], scale)
            if bic.shape != sr.shape:
                raise EvaluationError(
                    f'the network returned {sr.shape[1]}x{sr.shape[0]} for x{scale} of '
                    f'{frames.shape[2]}x{frames.shape[1]}: set scale to the network\'s factor',
                    param='scale')
            for row, img in (('bicubic', bic), ('model', sr)):
                sample = dict(key=name, img_path=[paths[idx]], frame_index=idx,
                              output=dict(pred_img=img))
                for metric in metrics:
                    scorer = scorers[metric][row]
                    try:
                        scorer.process({}, [sample])
                    except ValueError as err:
                        prefix = 'bicubic baseline: ' if row == 'bicubic' else ''
                        param = 'skip_undefined' if isinstance(err, UndefinedScoreError) else None
                        raise EvaluationError(f'{prefix}{err}', param=param) from err
            if pictures and idx == show:
                pics[name] = side_by_side(np.ascontiguousarray(bic[..., ::-1]),
                                          np.ascontiguousarray(sr[..., ::-1]), method_name)
        results['videos'][name] = dict(num_frames=len(frames), scored_frames=picks,
                                       seconds=round(time.perf_counter() - start, 3))
        if on_video is not None:
            on_video(name, results['videos'][name], notes)

    names = [name for name, _ in videos]
    for row in ('bicubic', 'model'):
        results['mean'][row] = {}
        for metric in metrics:
            per_video, mean = _per_video_means(scorers[metric][row], names)
            for name in names:
                results['videos'][name].setdefault(row, {})[metric] = per_video[name]
            results['mean'][row][metric] = mean
    if pictures:
        results['pictures'] = pics
    return results


# --------------------------------------------------------------------------- reporting
def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.4f}'


def _table(rows: List[List[str]], rules: Sequence[int]) -> List[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    line = '  '.join('-' * w for w in widths)
    out = []
    for i, row in enumerate(rows):
        if i in rules:
            out.append(line)
        out.append('  '.join(c.ljust(w) if j == 0 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(row, widths))))
    if len(rows) in rules:
        out.append(line)
    return out


def format_tables(results: dict) -> str:
    """The per-video table and the Table-2-like summary, headed by the protocol.

    Args:
        results (dict): What :func:`evaluate_videolq` returned.

    Returns:
        str: The tables as text.
    """
    metrics = results['settings']['metrics']
    method = results['settings']['method']
    rows = [['video', 'frames', 'scored'] + [f'Bicubic {m}' for m in metrics] +
            [f'{method} {m}' for m in metrics]]
    for name, video in results['videos'].items():
        rows.append([name, str(video['num_frames']), str(len(video['scored_frames']))] +
                    [_fmt(video['bicubic'][m]) for m in metrics] +
                    [_fmt(video['model'][m]) for m in metrics])
    rows.append([f'mean ({len(results["videos"])} videos)', '', ''] +
                [_fmt(results['mean']['bicubic'][m]) for m in metrics] +
                [_fmt(results['mean']['model'][m]) for m in metrics])
    summary = [['Method'] + list(metrics),
               ['Bicubic'] + [_fmt(results['mean']['bicubic'][m]) for m in metrics],
               [method] + [_fmt(results['mean']['model'][m]) for m in metrics]]
    protocol = EvaluationProtocol(**{k: (tuple(v) if isinstance(v, list) else v)
                                     for k, v in results['protocol'].items()})
    lines = [f'protocol {protocol.label()}']
    lines += _table(rows, rules=(0, 1, len(rows) - 1, len(rows)))
    lines += [''] + _table(summary, rules=())
    return '\n'.join(lines)


def _csv_text(results: dict) -> str:
    metrics = results['settings']['metrics']
    protocol = results['protocol']
    frames = protocol['frames'] if isinstance(protocol['frames'], str) else \
        ','.join(str(i) for i in protocol['frames'])
    settings = [protocol['name'], frames, protocol['convert_to'], protocol['crop_border']]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['protocol', 'frames', 'plane', 'crop_border', 'method', 'video',
                     'num_frames', 'scored_frames'] + list(metrics))
    for row in ('bicubic', 'model'):
        for name, video in results['videos'].items():
            writer.writerow(settings + [row, name, video['num_frames'],
                                        len(video['scored_frames'])] +
                            ['' if video[row][m] is None else f'{video[row][m]:.6f}'
                             for m in metrics])
        writer.writerow(settings + [row, 'mean', '', ''] + [
            '' if results['mean'][row][m] is None else f'{results["mean"][row][m]:.6f}'
            for m in metrics])
    return buf.getvalue()


def write_results(results: dict, out_dir: str, overwrite: bool = True) -> Dict[str, str]:
    """Write ``results.json``, ``results.csv`` and ``compare/<video>.png``, each atomically.

    Every CSV row carries the protocol's name and settings, and the JSON its
    :meth:`EvaluationProtocol.as_dict`, so results of different protocols cannot be mixed up.

    Args:
        results (dict): What :func:`evaluate_videolq` returned.
        out_dir (str): Output folder (created).
        overwrite (bool): Replace existing result files. Defaults to True.

    Returns:
        dict[str, str]: Paths written: ``json``, ``csv`` and ``compare`` (the pictures' folder).
    """
    from realbasicvsr_plugin.apis.atomic_output import AtomicOutput

    def write(path: str, fill: Callable[[str], None]) -> None:
        target = AtomicOutput(path, is_dir=False, overwrite=overwrite)
        try:
            fill(str(target.temp_path))
            target.commit()
        finally:
            target.discard()

    def write_text(text: str) -> Callable[[str], None]:
        def fill(tmp: str) -> None:
            with open(tmp, 'w', newline='') as f:
                f.write(text)
        return fill

    def write_png(img: np.ndarray) -> Callable[[str], None]:
        def fill(tmp: str) -> None:
            if not cv2.imwrite(tmp, img):
                raise EvaluationError(f"cannot write the picture '{tmp}'")
        return fill

    os.makedirs(out_dir, exist_ok=True)
    data = json.loads(json.dumps({k: v for k, v in results.items() if k != 'pictures'}))
    pictures = results.get('pictures', {})
    compare = osp.join(out_dir, 'compare')
    if pictures:
        os.makedirs(compare, exist_ok=True)
        for name, img in pictures.items():
            write(osp.join(compare, f'{name}.png'), write_png(img))
            data['videos'][name]['compare_image'] = f'compare/{name}.png'
    paths = dict(json=osp.join(out_dir, 'results.json'), csv=osp.join(out_dir, 'results.csv'),
                 compare=compare)
    write(paths['json'], write_text(json.dumps(data, indent=2)))
    write(paths['csv'], write_text(_csv_text(data)))
    return paths


def parse_frames(text: str) -> FrameSpec:
    """A ``frames`` value given as text (command lines): a selection name or ``0,50,99``.

    Args:
        text (str): The text.

    Returns:
        str | list[int]: The selection.
    """
    if text in FRAME_SELECTIONS:
        return text
    try:
        indices = [int(v) for v in text.split(',') if v.strip()]
        validate_frames(indices)
    except ValueError:
        raise EvaluationError(f'frames must be one of {FRAME_SELECTIONS} or comma-separated '
                              f'indices, got {text!r}', param='frames') from None
    return indices
