"""Streaming video inference: read -> temporal chunks -> spatial tiles -> model -> write.

The command line (``realbasicvsr``, :mod:`realbasicvsr_plugin.apis.cli`) and
``scripts/inference.py`` are thin front ends over :func:`super_resolve`.
"""
from .atomic_output import AtomicOutput, check_output_path
from .audio_track import AudioTrackCopier
from .errors import InferenceError
from .frame_readers import (Frame, FrameReader, ImageFolderReader, SingleImageReader,
                            VideoFileReader, open_frame_reader)
from .frame_writers import (FrameWriter, PngFolderWriter, SingleImageWriter, VideoFileWriter,
                            output_kind)
from .inference import (INFERENCE_DEFAULTS, BatchResult, InferenceSummary, super_resolve,
                        super_resolve_many)
from .model_loading import build_generator, default_model, load_model
from .official_models import OFFICIAL_MODELS, OfficialModel, official_model
from .spatial_tiles import SpatialTiler
from .streaming_inferencer import StreamingInferencer, to_uint8
from .temporal_chunks import TemporalChunker

__all__ = [
    'super_resolve', 'super_resolve_many', 'BatchResult', 'InferenceSummary',
    'INFERENCE_DEFAULTS', 'InferenceError', 'OFFICIAL_MODELS', 'OfficialModel', 'official_model',
    'StreamingInferencer', 'TemporalChunker', 'SpatialTiler', 'to_uint8', 'load_model',
    'build_generator', 'default_model', 'open_frame_reader', 'Frame', 'FrameReader',
    'VideoFileReader', 'ImageFolderReader', 'SingleImageReader', 'output_kind', 'FrameWriter',
    'VideoFileWriter', 'PngFolderWriter', 'SingleImageWriter', 'AtomicOutput',
    'check_output_path', 'AudioTrackCopier'
]
