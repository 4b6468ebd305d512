"""Scene cuts, detected while decoding, so that no chunk's propagation crosses one.

A recurrent network propagates features along the whole chunk: across a cut it carries the
previous shot's features into the next one (flicker and ghosting right after the cut). The
inferencer therefore ends the chunk at a cut and starts the next shot afresh, without
cross-fading over the cut.

The score between consecutive frames is the L1 distance of their normalised luma histograms
(:data:`HISTOGRAM_BINS` bins), halved so that it lies in [0, 1]: 0 for frames with the same
distribution of brightness, 1 for frames that share no brightness level. Motion within a shot
moves pixels but barely changes the histogram; a cut to another shot usually changes it a lot.
A cut is declared where the score is at least the threshold (:data:`DEFAULT_THRESHOLD`).
"""
from typing import Optional, Union

import numpy as np

from .errors import InferenceError

#: Default threshold on the histogram distance (0-1).
DEFAULT_THRESHOLD = 0.4

#: Luma histogram bins.
HISTOGRAM_BINS = 64

#: Frames are subsampled to about this many pixels for the histogram (speed; the histogram of a
#: regular subsample is a close estimate of the whole frame's).
SAMPLE_PIXELS = 1 << 16


def parse_threshold(value: Union[float, str, None]) -> Optional[float]:
    """Turn the ``scene_cuts`` setting into a threshold, or ``None`` for off.

    Args:
        value (float | str | None): A number in (0, 1], ``'off'``, or ``None``/``'on'``/
            ``'auto'`` for :data:`DEFAULT_THRESHOLD`.

    Returns:
        float | None: The threshold, or None (no detection).
    """
    if value is None:
        return DEFAULT_THRESHOLD
    if isinstance(value, str):
        text = value.strip().lower()
        if text == 'off':
            return None
        if text in ('on', 'auto'):
            return DEFAULT_THRESHOLD
        try:
            value = float(text)
        except ValueError:
            raise InferenceError(f"scene_cuts must be a threshold in (0, 1] or 'off', got "
                                 f"'{value}'", param='scene_cuts') from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise InferenceError(f"scene_cuts must be a threshold in (0, 1] or 'off', got {value!r}",
                             param='scene_cuts')
    return float(value)


def luma_histogram(image: np.ndarray) -> np.ndarray:
    """Normalised luma histogram of an ``(h, w, 3)`` uint8 or uint16 RGB frame.

    Args:
        image (np.ndarray): The frame.

    Returns:
        np.ndarray: ``(HISTOGRAM_BINS,)`` float64 summing to 1.
    """
    h, w = image.shape[:2]
    step = max(1, int((h * w / SAMPLE_PIXELS) ** 0.5))
    sample = image[::step, ::step].astype(np.float32)
    top = 65535.0 if image.dtype == np.uint16 else 255.0
    luma = sample @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601 weights
    hist, _ = np.histogram(luma, bins=HISTOGRAM_BINS, range=(0.0, top + 1e-3))
    return hist / max(1, hist.sum())


class SceneCutDetector:
    """Say, frame by frame, whether a new shot starts.

    Args:
        threshold (float): Histogram distance (0-1) at which a cut is declared.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self._previous: Optional[np.ndarray] = None
        #: number of cuts found so far
        self.cuts = 0

    def score(self, image: np.ndarray) -> Optional[float]:
        """Distance of ``image`` from the previous frame (None for the first frame)."""
        hist = luma_histogram(image)
        previous, self._previous = self._previous, hist
        if previous is None:
            return None
        return float(np.abs(hist - previous).sum() / 2)

    def is_cut(self, image: np.ndarray) -> bool:
        """Whether ``image`` starts a new shot (never for the first frame)."""
        score = self.score(image)
        cut = score is not None and score >= self.threshold
        self.cuts += cut
        return cut
