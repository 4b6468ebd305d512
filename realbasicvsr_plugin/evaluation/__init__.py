"""Evaluation: no-reference metrics (NIQE, BRISQUE) for MMagic's evaluators and plain use.

``niqe``/``brisque`` score one image array (MMagic's ``niqe`` call, BGR); the registered ``NIQE`` and
``BRISQUE`` metrics score images and videos in MMagic's evaluators. See ``docs/evaluation.md``.
"""
from .metrics import (BRISQUE, BRISQUE_MODEL, BRISQUE_RANGE, NIQE, NRQM, PI, ChecksumError,
                      LibSVMRegressor, ModelFile, ModelFileUnavailableError,
                      NoReferenceVideoMetric, NRQMUnavailableError, UndefinedScoreError, brisque,
                      brisque_features, brisque_model_files, fetch_model_file,
                      load_brisque_model, load_niqe_pristine_params, matlab_imresize, niqe,
                      niqe_features, perceptual_index, select_frames, to_luminance)

__all__ = [
    'NIQE', 'BRISQUE', 'NRQM', 'PI', 'niqe', 'niqe_features', 'brisque', 'brisque_features',
    'perceptual_index', 'load_niqe_pristine_params', 'load_brisque_model',
    'brisque_model_files', 'BRISQUE_MODEL', 'BRISQUE_RANGE', 'LibSVMRegressor', 'to_luminance',
    'matlab_imresize', 'ModelFile', 'fetch_model_file', 'ChecksumError',
    'ModelFileUnavailableError', 'UndefinedScoreError', 'NRQMUnavailableError',
    'NoReferenceVideoMetric', 'select_frames'
]
