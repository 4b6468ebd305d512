"""Base class of the no-reference metrics as MMagic evaluator metrics, for images and videos.

A data sample's prediction (``output.pred_img``) is ``(c, h, w)`` for an image or ``(t, c, h, w)``
for a video clip, in [0, 255] and BGR order (what MMagic's ``DataPreprocessor.destruct`` gives).
The metric scores the selected frames of each sample one by one, averages them per video, and
reports the mean over videos: every video weighs the same, however many frames it has, as in the
per-data-set averages of the RealBasicVSR paper's Table 2. Clips of the same video (same video
name) are pooled before averaging, each frame (identified by its file path when the sample has
``img_path``) counted once.

Messages name a frame by its index in the video (a sample may give it as ``frame_index``, e.g.
when it holds one frame of a longer video; otherwise its index in the clip) and its file name.

A frame whose statistics are undefined (for instance a flat, textureless frame) raises
:class:`UndefinedScoreError`; with ``skip_undefined=True`` the frame is left out with a warning
instead and the number of skipped frames is reported. A NaN is never averaged into a result.
"""
import math
import os.path as osp
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmagic.evaluation.metrics.base_sample_wise_metric import BaseSampleWiseMetric

from .natural_scene_statistics import UndefinedScoreError

__all__ = ['NoReferenceVideoMetric', 'select_frames', 'validate_frames', 'FRAME_SELECTIONS']

FRAME_SELECTIONS = ('all', 'first', 'middle', 'last', 'first_middle_last')
FrameSpec = Union[str, Sequence[int]]


def select_frames(num_frames: int, frames: FrameSpec = 'all') -> List[int]:
    """Indices of the frames to score in a clip of ``num_frames`` frames.

    Args:
        num_frames (int): Number of frames in the clip (>= 1).
        frames (str | Sequence[int]): ``'all'``, ``'first'``, ``'middle'`` (index
            ``num_frames // 2``), ``'last'``, ``'first_middle_last'``, or explicit indices
            (negative ones count from the end, as in Python). Defaults to 'all'.

    Returns:
        list[int]: Sorted, de-duplicated non-negative indices.
    """
    if num_frames < 1:
        raise ValueError(f'a clip must have at least one frame, got {num_frames}')
    if isinstance(frames, str):
        if frames not in FRAME_SELECTIONS:
            raise ValueError(f'frames must be one of {FRAME_SELECTIONS} or a list of indices, '
                             f'got {frames!r}')
        picks = {
            'all': list(range(num_frames)),
            'first': [0],
            'middle': [num_frames // 2],
            'last': [num_frames - 1],
            'first_middle_last': [0, num_frames // 2, num_frames - 1],
        }[frames]
        return sorted(set(picks))
    out = set()
    for i in _explicit_indices(frames):
        if not -num_frames <= i < num_frames:
            raise ValueError(f'frame index {i} is out of range for a clip of {num_frames} frames')
        out.add(i % num_frames)
    return sorted(out)


def validate_frames(frames: FrameSpec) -> None:
    """Check a frame selection before any clip is seen (names, integer indices, non-empty).

    Args:
        frames (str | Sequence[int]): See :func:`select_frames`.
    """
    if isinstance(frames, str):
        select_frames(1, frames)
        return
    _explicit_indices(frames)


def _explicit_indices(frames: Sequence[int]) -> List[int]:
    """A list of frame indices as integers; refuses non-integers and an empty list."""
    try:
        indices = [int(i) for i in frames]
    except (TypeError, ValueError):
        raise ValueError(f'frames must be one of {FRAME_SELECTIONS} or a list of integer '
                         f'indices, got {frames!r}') from None
    if not indices:
        raise ValueError('frames is an empty list: no frame would be scored')
    return indices


def _get_field(sample: Any, key: str) -> Any:
    if isinstance(sample, dict):
        return sample.get(key)
    return getattr(sample, key, None)


class NoReferenceVideoMetric(BaseSampleWiseMetric):
    """Per-frame no-reference metric averaged per video, then over the data set.

    Subclasses set ``metric`` (the reported name) and ``score_image`` (the metric of one image,
    with the options of :meth:`score_options`), or implement :meth:`score_frame`.

    Args:
        pred_key (str): Key of the image to score. Defaults to 'pred_img'.
        from_output (bool): Take the image from the sample's ``output`` (the model's prediction)
            rather than from the sample itself (e.g. ``'gt_img'``). Defaults to True.
        crop_border (int): Pixels removed from each edge before scoring. Defaults to 0.
        input_order (str): Layout of one frame, ``'CHW'`` (MMagic's tensors), ``'HWC'`` or
            ``'HW'``. Defaults to 'CHW'.
        convert_to (str): ``'gray'`` (the official MATLAB releases) or ``'y'`` (PIRM-style).
            Defaults to 'gray'.
        channel_order (str): ``'bgr'`` (MMagic's destructed outputs) or ``'rgb'``.
            Defaults to 'bgr'.
        frames (str | Sequence[int]): Which frames of each clip to score, see
            :func:`select_frames`. Defaults to 'all'.
        skip_undefined (bool): Leave out frames whose score is undefined (with a warning)
            instead of raising. Defaults to False.
        report_per_video (bool): Also report ``'<metric>/<video>'`` for every video.
            Defaults to False.
        video_key (str): Metainfo field naming the video; when a sample lacks it, the parent
            folder of its first ``img_path`` is used. Defaults to 'key'.
        collect_device (str): Device for collecting results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the reported names. Defaults to None.
    """

    metric: Optional[str] = None
    #: The metric of one image, ``score_image(img, crop_border, input_order, convert_to,
    #: channel_order, **options)`` (e.g. ``staticmethod(niqe)``), that :meth:`score_frame` calls.
    score_image: Optional[Callable[..., float]] = None

    def __init__(self,
                 pred_key: str = 'pred_img',
                 from_output: bool = True,
                 crop_border: int = 0,
                 input_order: str = 'CHW',
                 convert_to: str = 'gray',
                 channel_order: str = 'bgr',
                 frames: FrameSpec = 'all',
                 skip_undefined: bool = False,
                 report_per_video: bool = False,
                 video_key: str = 'key',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            gt_key=pred_key,
            pred_key=pred_key,
            mask_key=None,
            collect_device=collect_device,
            prefix=prefix)
        if input_order not in ('CHW', 'HWC', 'HW'):
            raise ValueError(f"input_order must be 'CHW', 'HWC' or 'HW', got {input_order!r}")
        if not isinstance(convert_to, str) or convert_to.lower() not in ('gray', 'y'):
            raise ValueError(f"convert_to must be 'gray' or 'y', got {convert_to!r}")
        if not isinstance(channel_order, str) or channel_order.lower() not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        if isinstance(crop_border, bool) or not isinstance(crop_border, int) or crop_border < 0:
            raise ValueError(f'crop_border must be a non-negative integer, got {crop_border!r}')
        validate_frames(frames)
        self.from_output = from_output
        self.crop_border = crop_border
        self.input_order = input_order
        self.convert_to = convert_to.lower()
        self.channel_order = channel_order.lower()
        self.frames = frames
        self.skip_undefined = skip_undefined
        self.report_per_video = report_per_video
        self.video_key = video_key
        self._unnamed = 0
        self._clips = 0

    # ----------------------------------------------------------------------------------------
    def score_options(self) -> Dict[str, Any]:
        """Keyword arguments of :attr:`score_image` besides the layout and the conversion.

        Returns:
            dict: Empty here; a metric adds its own (e.g. its model).
        """
        return {}

    def score_frame(self, frame: np.ndarray) -> float:
        """Score one frame laid out as ``self.input_order``.

        Args:
            frame (np.ndarray): One frame in [0, 255].

        Returns:
            float: ``score_image(frame, crop_border, input_order, convert_to, channel_order,
            **score_options())`` with this metric's settings.
        """
        if self.score_image is None:
            raise NotImplementedError(f'{type(self).__name__} sets neither score_image nor '
                                      'score_frame')
        return self.score_image(frame, self.crop_border, self.input_order, self.convert_to,
                                self.channel_order, **self.score_options())

    def process_image(self, gt, pred, mask) -> float:
        """MMagic's per-image hook; scores ``pred`` (kept for API compatibility)."""
        return self.score_frame(np.asarray(pred))

    # ----------------------------------------------------------------------------------------
    def _video_name(self, sample: Any) -> str:
        name = _get_field(sample, self.video_key)
        if name is None and isinstance(sample, dict) and 'metainfo' in sample:
            name = sample['metainfo'].get(self.video_key)
        if name is None:
            path = _get_field(sample, 'img_path')
            if isinstance(path, (list, tuple)) and path:
                path = path[0]
            if isinstance(path, str):
                name = osp.basename(osp.dirname(path)) or osp.basename(path)
        if name is None:
            self._unnamed += 1
            name = f'sample_{self._unnamed - 1}'
        return str(name)

    def _frame_image(self, sample: Any) -> Any:
        source = _get_field(sample, 'output') if self.from_output else sample
        if source is None:
            raise KeyError(f"{self.metric}: the data sample has no 'output' to score; "
                           'set from_output=False to score a field of the sample itself')
        img = _get_field(source, self.pred_key)
        if img is None:
            raise KeyError(f"{self.metric}: the data sample has no '{self.pred_key}' "
                           f"{'in its output' if self.from_output else ''}")
        if hasattr(img, 'detach'):
            img = img.detach().cpu().numpy()
        return np.asarray(img)

    @staticmethod
    def _frame_labels(sample: Any, frame_ids: List[str], from_paths: bool) -> List[str]:
        """How messages name a clip's frames: the index in the video (the sample's
        ``frame_index``, else the index in the clip), with the file name when known."""
        num_frames = len(frame_ids)
        indices = _get_field(sample, 'frame_index')
        if isinstance(indices, int):
            indices = [indices]
        if not (isinstance(indices, (list, tuple)) and len(indices) == num_frames):
            indices = range(num_frames)
        if not from_paths:
            return [str(i) for i in indices]
        return [f'{i} ({osp.basename(path)})' for i, path in zip(indices, frame_ids)]

    def _frame_ids(self, sample: Any, num_frames: int) -> Tuple[List[str], bool]:
        """Identities of a clip's frames: their file paths when known (True), else clip and
        index (False)."""
        paths = _get_field(sample, 'img_path')
        if isinstance(paths, str):
            paths = [paths]
        if isinstance(paths, (list, tuple)) and len(paths) == num_frames \
                and all(isinstance(p, str) for p in paths):
            return list(paths), True
        self._clips += 1
        return [f'clip{self._clips - 1}:{i}' for i in range(num_frames)], False

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Score the selected frames of every sample in the batch.

        Args:
            data_batch (Any): The batch from the data loader (not used).
            data_samples (Sequence[dict]): Model outputs as MMagic's evaluator passes them.
        """
        frame_ndim = 2 if self.input_order == 'HW' else 3
        for sample in data_samples:
            video = self._video_name(sample)
            img = self._frame_image(sample)
            if img.ndim == frame_ndim:
                clip = img[None]
            elif img.ndim == frame_ndim + 1:
                clip = img
            else:
                raise ValueError(
                    f"{self.metric}: '{self.pred_key}' of video '{video}' has shape "
                    f'{tuple(img.shape)}; expected one frame ({self.input_order}) or a clip '
                    f'(t, {", ".join(self.input_order)})')
            frame_ids, from_paths = self._frame_ids(sample, clip.shape[0])
            labels = self._frame_labels(sample, frame_ids, from_paths)
            ids, scores, skipped = [], [], []
            for idx in select_frames(clip.shape[0], self.frames):
                where = f"video '{video}', frame {labels[idx]}"
                try:
                    score = float(self.score_frame(clip[idx]))
                except UndefinedScoreError as err:
                    if not self.skip_undefined:
                        raise UndefinedScoreError(
                            f'{self.metric} of {where}: {err} '
                            '(set skip_undefined=True to leave such frames out)') from err
                    warnings.warn(f"{self.metric}: skipping frame {labels[idx]} of video "
                                  f"'{video}': {err}")
                    skipped.append(frame_ids[idx])
                    continue
                except ValueError as err:
                    raise ValueError(f'{self.metric} of {where}: {err}') from err
                if not math.isfinite(score):
                    raise UndefinedScoreError(
                        f'{self.metric} of {where} is not finite ({score})')
                ids.append(frame_ids[idx])
                scores.append(score)
            self.results.append(
                dict(video=video, frame_ids=ids, scores=scores, skipped=skipped))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Average the frame scores per video and the video means over the data set.

        Args:
            results (list[dict]): What :meth:`process` collected, from all ranks.

        Returns:
            dict[str, float]: ``{metric: mean over videos}``, plus ``'<metric>/<video>'`` per
            video when ``report_per_video`` is set and ``'<metric>_skipped_frames'`` when frames
            were skipped.
        """
        per_video: Dict[str, Dict[str, float]] = {}
        skipped = 0
        for item in results:
            frames = per_video.setdefault(item['video'], {})
            # clips that overlap count each frame (identified by its path) once
            frames.update(zip(item['frame_ids'], item['scores']))
            skipped += len(item.get('skipped', []))
        means = {
            video: float(np.mean(list(scores.values())))
            for video, scores in per_video.items() if scores
        }
        empty = [video for video, scores in per_video.items() if not scores]
        if empty:
            warnings.warn(f'{self.metric}: no frame could be scored in video(s) {empty}; they '
                          'are left out of the mean')
        if not means:
            raise UndefinedScoreError(f'{self.metric}: no frame of any video could be scored')
        out = {self.metric: float(np.mean(list(means.values())))}
        if self.report_per_video:
            for video in sorted(means):
                out[f'{self.metric}/{video}'] = means[video]
        if skipped:
            out[f'{self.metric}_skipped_frames'] = float(skipped)
        return out

    def evaluate(self, size: Optional[int] = None) -> dict:
        """Collect the results (across ranks) and compute the metric.

        Works under MMagic's evaluator (which sets ``size`` through ``prepare`` and calls
        ``evaluate()``) and MMEngine's (which calls ``evaluate(size)``).

        Args:
            size (int, optional): Number of samples in the data set. Defaults to the size that
                ``prepare`` recorded, else the number of collected results.

        Returns:
            dict: The metrics, see :meth:`compute_metrics`.
        """
        size = size or getattr(self, 'size', None) or len(self.results)
        return super(BaseSampleWiseMetric, self).evaluate(size)
