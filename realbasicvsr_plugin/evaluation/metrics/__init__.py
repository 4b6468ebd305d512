"""No-reference metrics faithful to the official releases: NIQE and BRISQUE (+ PI's formula)."""
from .brisque import (BRISQUE, BRISQUE_MODEL, BRISQUE_RANGE, brisque, brisque_features,
                      brisque_model_files, load_brisque_model)
from .libsvm_regressor import LibSVMRegressor
from .luminance import to_luminance
from .matlab_resize import matlab_imresize
from .model_files import (ChecksumError, ModelFile, ModelFileUnavailableError,
                          fetch_model_file)
from .natural_scene_statistics import UndefinedScoreError
from .niqe import NIQE, load_niqe_pristine_params, niqe, niqe_features
from .no_reference_metric import NoReferenceVideoMetric, select_frames
from .perceptual_index import (MetricUnavailableError, check_metric_available,
                               perceptual_index)

__all__ = [
    'NIQE', 'BRISQUE', 'niqe', 'niqe_features', 'brisque', 'brisque_features',
    'perceptual_index', 'load_niqe_pristine_params', 'load_brisque_model',
    'brisque_model_files', 'BRISQUE_MODEL', 'BRISQUE_RANGE', 'LibSVMRegressor', 'to_luminance',
    'matlab_imresize', 'ModelFile', 'fetch_model_file', 'ChecksumError',
    'ModelFileUnavailableError', 'UndefinedScoreError', 'MetricUnavailableError',
    'check_metric_available', 'NoReferenceVideoMetric', 'select_frames'
]
