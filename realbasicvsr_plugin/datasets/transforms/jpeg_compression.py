"""Random JPEG compression of a clip, its quality random-walking along the clip."""
from typing import Any, Dict, List, Union

import cv2
import numpy as np

from realbasicvsr_plugin.registry import TRANSFORMS
from .base_degradation import BaseDegradation
from .clip_frames import to_uint8
from .degradation_params import get_range, get_step
from .random_walk import walk_from_range


@TRANSFORMS.register_module()
class RandomJPEGCompression(BaseDegradation):
    """JPEG-compress every frame of a clip; the quality random-walks from frame to frame.

    The quality starts from a uniform draw in ``quality`` and walks with ``quality_step``
    (0: one quality per clip). The walk runs on the real-valued quality and each frame is encoded
    at its rounded value (MMagic rounds after every step, which biases a small-step walk).
    Frames are rounded into [0, 255] before encoding (as OpenCV does for MMagic) and come back in
    their input dtype.

    Args:
        params (dict): MMagic's settings:

            - ``quality`` ([low, high]): JPEG quality range within [0, 100].
            - ``quality_step`` (float): random-walk step of the quality, default 0.
            - ``prob``: the probability of compressing a clip, default 1.
        keys (list[str]): The results keys to compress.
        color_type (str): ``'color'`` for 3-channel frames or ``'grayscale'`` for 1-channel
            frames. Default: ``'color'``.
        bgr2rgb (bool): Swap the channels around the codec. OpenCV's JPEG codec expects BGR:
            set True when the frames are RGB (MMagic's RealBasicVSR pipelines load RGB).
            Default: False (MMagic's default).
    """

    known_params = ('quality', 'quality_step')

    def __init__(self, params: Dict[str, Any], keys: List[str], color_type: str = 'color',
                 bgr2rgb: bool = False) -> None:
        super().__init__(params, keys)
        name = type(self).__name__
        if color_type not in ('color', 'grayscale'):
            raise ValueError(f"{name}: color_type must be 'color' or 'grayscale', "
                             f'got {color_type!r}')
        self.color_type = color_type
        self.bgr2rgb = bool(bgr2rgb)
        self.quality = get_range(self.params, 'quality', None, name, (0, 100))
        if self.quality is None:
            raise ValueError(f"{name}: params['quality'] ([low, high] in [0, 100]) is required")
        self.quality_step = get_step(self.params, 'quality_step', name)

    def draw_qualities(self, num_frames: int) -> np.ndarray:
        """Draw the JPEG quality of every frame of one clip.

        Args:
            num_frames (int): The number of frames.

        Returns:
            np.ndarray: The integer qualities (the walk's values, rounded).
        """
        return np.rint(walk_from_range(self.quality, self.quality_step, num_frames)).astype(int)

    def degrade(self, frames: Union[np.ndarray, List[np.ndarray]]) -> np.ndarray:
        """Compress each frame at its quality.

        Args:
            frames (np.ndarray | list[np.ndarray]): ``T`` frames of ``H x W x C`` (C = 3 for
                ``'color'``, 1 for ``'grayscale'``).

        Returns:
            np.ndarray: The decoded ``T x H x W x C`` frames, same dtype.
        """
        shape, dtype = frames[0].shape, frames[0].dtype
        expected = 3 if self.color_type == 'color' else 1
        if shape[2] != expected:
            raise ValueError(f'{type(self).__name__}: color_type={self.color_type!r} needs '
                             f'{expected}-channel frames, got {shape[2]} channels')
        qualities = self.draw_qualities(len(frames))
        flag = cv2.IMREAD_COLOR if expected == 3 else cv2.IMREAD_GRAYSCALE
        swap = self.bgr2rgb and expected == 3
        out = np.empty((len(frames), ) + shape, dtype=dtype)
        for i, (frame, quality) in enumerate(zip(frames, qualities)):
            frame = to_uint8(frame)  # round and saturate, as OpenCV would (with a warning)
            if swap:
                frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            ok, encoded = cv2.imencode('.jpg', frame, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
            if not ok:
                raise RuntimeError(f'{type(self).__name__}: OpenCV failed to encode a '
                                   f'{frame.shape} frame')
            decoded = cv2.imdecode(encoded, flag)
            if swap:
                decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
            out[i] = decoded.reshape(shape)
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(params={self.params}, keys={self.keys}, '
                f'color_type={self.color_type!r}, bgr2rgb={self.bgr2rgb})')
