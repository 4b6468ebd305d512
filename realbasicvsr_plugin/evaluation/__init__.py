"""Evaluation: no-reference metrics (NIQE, BRISQUE) and the VideoLQ benchmark.

``niqe``/``brisque`` score one image array (MMagic's ``niqe`` call, BGR); the registered ``NIQE``
and ``BRISQUE`` metrics score images and videos in MMagic's evaluators; :func:`evaluate_videolq`
runs the paper's Table 2 on a VideoLQ-layout folder under a named :class:`EvaluationProtocol`
(``scripts/evaluate_videolq.py`` is its command line). See ``docs/evaluation.md``.
"""
from .comparison_picture import detail_box, side_by_side
from . import metrics
from .metrics import *  # noqa: F401,F403  (the metrics, re-exported as they are)
from .videolq_benchmark import (METRIC_NAMES, PAPER_PROTOCOL, PROTOCOLS, RELEASE_PROTOCOL,
                                EvaluationError, EvaluationProtocol, bicubic_upscale,
                                build_model, evaluate_videolq, format_tables, list_videos,
                                parse_frames, read_video_frames, resolve_protocol,
                                write_results)

__all__ = metrics.__all__ + [
    'EvaluationError', 'EvaluationProtocol', 'PROTOCOLS', 'PAPER_PROTOCOL', 'RELEASE_PROTOCOL',
    'METRIC_NAMES', 'resolve_protocol', 'list_videos', 'read_video_frames', 'bicubic_upscale',
    'build_model', 'evaluate_videolq', 'format_tables', 'write_results', 'parse_frames',
    'side_by_side', 'detail_box'
]
