"""Evaluation: no-reference metrics (NIQE, BRISQUE) and the VideoLQ benchmark.

``niqe``/``brisque`` score one image array (MMagic's ``niqe`` call, BGR); the registered ``NIQE``
and ``BRISQUE`` metrics score images and videos in MMagic's evaluators; :func:`evaluate_videolq`
runs the paper's Table 2 on a VideoLQ-layout folder under a named :class:`EvaluationProtocol`
(``scripts/evaluate_videolq.py`` is its command line). See ``docs/evaluation.md``.
"""
from .comparison_picture import detail_box, side_by_side
from .metrics import (BRISQUE, BRISQUE_MODEL, BRISQUE_RANGE, NIQE, ChecksumError,
                      LibSVMRegressor, MetricUnavailableError, ModelFile,
                      ModelFileUnavailableError, NoReferenceVideoMetric, UndefinedScoreError,
                      brisque, brisque_features, brisque_model_files, check_metric_available,
                      fetch_model_file, load_brisque_model, load_niqe_pristine_params,
                      matlab_imresize, niqe, niqe_features, perceptual_index, select_frames,
                      to_luminance)
from .videolq_benchmark import (METRIC_NAMES, PAPER_PROTOCOL, PROTOCOLS, RELEASE_PROTOCOL,
                                EvaluationError, EvaluationProtocol, bicubic_upscale,
                                build_model, evaluate_videolq, format_tables, list_videos,
                                parse_frames, read_video_frames, resolve_protocol,
                                write_results)

__all__ = [
    'NIQE', 'BRISQUE', 'niqe', 'niqe_features', 'brisque', 'brisque_features',
    'perceptual_index', 'load_niqe_pristine_params', 'load_brisque_model',
    'brisque_model_files', 'BRISQUE_MODEL', 'BRISQUE_RANGE', 'LibSVMRegressor', 'to_luminance',
    'matlab_imresize', 'ModelFile', 'fetch_model_file', 'ChecksumError',
    'ModelFileUnavailableError', 'UndefinedScoreError', 'MetricUnavailableError',
    'check_metric_available', 'NoReferenceVideoMetric', 'select_frames', 'EvaluationError',
    'EvaluationProtocol', 'PROTOCOLS', 'PAPER_PROTOCOL', 'RELEASE_PROTOCOL', 'METRIC_NAMES',
    'resolve_protocol', 'list_videos', 'read_video_frames', 'bicubic_upscale', 'build_model',
    'evaluate_videolq', 'format_tables', 'write_results', 'parse_frames', 'side_by_side',
    'detail_box'
]
