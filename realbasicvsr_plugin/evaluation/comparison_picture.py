"""A side-by-side picture of a baseline frame and a model's output, with a magnified detail."""
from typing import Tuple

import cv2
import numpy as np

__all__ = ['detail_box', 'side_by_side']


def _label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    scale = max(0.5, img.shape[1] / 900)
    thick = max(1, int(round(scale * 2)))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.rectangle(img, (0, 0), (tw + 12, th + 14), (0, 0, 0), -1)
    cv2.putText(img, text, (6, th + 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                cv2.LINE_AA)
    return img


def detail_box(img: np.ndarray, side: int) -> Tuple[int, int]:
    """Top-left corner of the ``side`` x ``side`` window with the most gradient energy.

    Args:
        img (np.ndarray): ``(H, W, 3)`` uint8 BGR image.
        side (int): Side of the window in pixels.

    Returns:
        tuple[int, int]: ``(y, x)`` of the window's top-left corner.
    """
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    energy = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    box = cv2.boxFilter(energy, -1, (side, side), normalize=False, borderType=cv2.BORDER_CONSTANT)
    h, w = gray.shape
    half = side // 2
    valid = box[half:h - side + half + 1, half:w - side + half + 1]
    y, x = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(y), int(x)


def side_by_side(baseline: np.ndarray, output: np.ndarray, title: str,
                 baseline_title: str = 'Bicubic', max_width: int = 1600) -> np.ndarray:
    """Baseline and output frames next to each other, with a zoomed crop of each below.

    The crop is the square (a quarter of the shorter side) where the baseline frame has the most
    gradient energy, i.e. the most detailed part of the content, whatever the model made of it;
    it is outlined in red on both frames and magnified by an integer factor (nearest neighbour)
    below them.

    Args:
        baseline (np.ndarray): ``(H, W, 3)`` uint8 BGR baseline (e.g. bicubic upscale).
        output (np.ndarray): ``(H, W, 3)`` uint8 BGR model output, same size.
        title (str): Label of the output.
        baseline_title (str): Label of the baseline. Defaults to 'Bicubic'.
        max_width (int): Width of the whole picture at most. Defaults to 1600.

    Returns:
        np.ndarray: The picture, uint8 BGR.
    """
    h, w = output.shape[:2]
    side = max(8, min(h, w) // 4)
    y, x = detail_box(baseline, side)
    shrink = min(1.0, (max_width // 2) / w)
    views, zooms = [], []
    for img, text in ((baseline, baseline_title), (output, title)):
        crop = img[y:y + side, x:x + side]
        view = img.copy()
        cv2.rectangle(view, (x, y), (x + side - 1, y + side - 1), (0, 0, 255),
                      max(1, int(round(2 / shrink))))
        if shrink < 1:
            view = cv2.resize(view, (int(w * shrink), int(h * shrink)),
                              interpolation=cv2.INTER_AREA)
        views.append(_label(view, text))
        zoom = max(1, view.shape[1] // side)
        zooms.append(cv2.resize(crop, (side * zoom, side * zoom), interpolation=cv2.INTER_NEAREST))
    top = np.concatenate(views, axis=1)
    zh = max(z.shape[0] for z in zooms)
    bottom = np.concatenate([
        cv2.copyMakeBorder(z, 0, zh - z.shape[0], 0, views[i].shape[1] - z.shape[1],
                           cv2.BORDER_CONSTANT, value=(32, 32, 32))
        for i, z in enumerate(zooms)
    ], axis=1)
    return np.concatenate([top, bottom], axis=0)
