"""NIQE's block size is used, by the function and by the metric class."""
import pytest

from conftest import calibration_image
from realbasicvsr_plugin.evaluation import niqe
from realbasicvsr_plugin.evaluation.metrics.niqe import NIQE


@pytest.fixture
def image():
    return calibration_image('I04')[:288, :384]


def test_another_block_size_gives_another_score(image):
    default, small = niqe(image, 0), niqe(image, 0, block_size=48)
    assert default == pytest.approx(niqe(image, 0, block_size=96))
    assert abs(default - small) > 0.05


def test_the_metric_class_scores_with_its_block_size(image):
    small = NIQE(block_size=48, input_order='HWC').score_frame(image)
    assert small == pytest.approx(niqe(image, 0, block_size=48))
    assert abs(small - NIQE(input_order='HWC').score_frame(image)) > 0.05
