"""NIQE/BRISQUE in MMagic's evaluators: per frame, per video, over the data set; NRQM/PI refused."""
import cv2
import numpy as np
import pytest
import torch
from mmagic.evaluation import Evaluator
from mmagic.structures import DataSample

from conftest import calibration_image

from realbasicvsr_plugin.evaluation import (BRISQUE, NIQE, MetricUnavailableError,
                                            UndefinedScoreError, brisque, load_brisque_model,
                                            niqe, perceptual_index, select_frames)
from realbasicvsr_plugin.registry import METRICS


@pytest.fixture(autouse=True)
def _brisque_model_from_test_data(monkeypatch, data_dir):
    monkeypatch.setenv('REALBASICVSR_PLUGIN_BRISQUE_DIR', str(data_dir / 'brisque'))


@pytest.fixture
def frames():
    """Five different 192x288 BGR frames cut from the calibration images."""
    out = []
    for name in ('I04', 'I03'):
        img = calibration_image(name)
        out += [img[0:192, 0:288], img[192:384, 96:384], img[100:292, 200:488]]
    return [np.ascontiguousarray(f) for f in out[:5]]


def sample(video, clip, paths=None):
    """A data sample as MMagic's editor returns it: output.pred_img is (t, c, h, w) BGR."""
    data = DataSample(metainfo=dict(key=video, img_path=paths or [
        f'/data/{video}/{i:08d}.png' for i in range(len(clip))]))
    data.output = DataSample(pred_img=torch.from_numpy(
        np.stack([f.transpose(2, 0, 1) for f in clip]).astype(np.float32)))
    return data.to_dict()


def run(metric, samples):
    metric.process({}, samples)
    return metric.evaluate()


def test_video_score_is_the_mean_of_its_frames_and_the_set_the_mean_of_videos(frames):
    metric = NIQE(report_per_video=True)
    result = run(metric, [sample('a', frames[:3]), sample('b', frames[3:5])])
    a = np.mean([niqe(f, 0) for f in frames[:3]])
    b = np.mean([niqe(f, 0) for f in frames[3:5]])
    assert result['NIQE/a'] == pytest.approx(a)
    assert result['NIQE/b'] == pytest.approx(b)
    # every video weighs the same, whatever its length
    assert result['NIQE'] == pytest.approx((a + b) / 2)


def test_works_through_mmagics_evaluator_built_from_a_config(frames):
    evaluator = Evaluator(metrics=[
        dict(type='NIQE', convert_to='y', crop_border=4, prefix='VideoLQ'),
        dict(type='BRISQUE', frames='first_middle_last'),
    ])
    samples = [DataSample(metainfo=dict(key='v'))]
    samples[0].output = DataSample(pred_img=torch.from_numpy(
        np.stack([f.transpose(2, 0, 1) for f in frames]).astype(np.float32)))
    evaluator.process(samples, {}, evaluator.metrics)
    result = evaluator.evaluate()
    assert result['VideoLQ/NIQE'] == pytest.approx(
        np.mean([niqe(f, 4, convert_to='y') for f in frames]))
    model = load_brisque_model()
    assert result['BRISQUE'] == pytest.approx(
        np.mean([brisque(frames[i], 0, model=model) for i in (0, 2, 4)]))


def test_plugin_names_resolve_to_the_plugins_classes_not_mmagics():
    assert METRICS.build(dict(type='NIQE')).__class__ is NIQE
    assert METRICS.build(dict(type='BRISQUE')).__class__ is BRISQUE
    import mmagic.registry
    assert mmagic.registry.METRICS.get('NIQE') is not NIQE  # MMagic's own NIQE is untouched


def test_clips_of_one_video_are_pooled_frame_by_frame(frames):
    paths = [f'/data/v/{i}.png' for i in range(5)]
    metric = NIQE()
    # two overlapping clips of the same video: frame 2 is seen twice but counted once
    result = run(metric, [sample('v', frames[:3], paths[:3]), sample('v', frames[2:], paths[2:])])
    assert result['NIQE'] == pytest.approx(np.mean([niqe(f, 0) for f in frames]))


def test_single_images_are_scored_too(frames):
    data = DataSample(metainfo=dict(key='img0'))
    data.output = DataSample(pred_img=torch.from_numpy(frames[0].transpose(2, 0, 1).copy()))
    assert run(NIQE(), [data.to_dict()])['NIQE'] == pytest.approx(niqe(frames[0], 0))


def test_video_name_falls_back_to_the_frames_folder(frames):
    metric = NIQE(report_per_video=True)
    data = sample('ignored', frames[:2])
    del data['key']
    assert 'NIQE/ignored' in run(metric, [data])  # /data/ignored/00000000.png


@pytest.mark.parametrize('spec,expected', [('all', [0, 1, 2, 3, 4]), ('first', [0]),
                                           ('middle', [2]), ('last', [4]),
                                           ('first_middle_last', [0, 2, 4]), ([-1, 0, 0], [0, 4])])
def test_frame_selection(spec, expected):
    assert select_frames(5, spec) == expected


@pytest.mark.parametrize('spec,match', [('some', 'frames must be'), ([7], 'out of range'),
                                        ([], 'empty')])
def test_bad_frame_selection_is_named(spec, match):
    with pytest.raises(ValueError, match=match):
        select_frames(5, spec)


def test_a_flat_frame_stops_the_evaluation_naming_video_and_frame(frames):
    clip = [frames[0], np.full_like(frames[0], 40), frames[1]]
    with pytest.raises(UndefinedScoreError, match=r"video 'fade', frame 1 \(00000001.png\)"):
        run(NIQE(), [sample('fade', clip)])


def test_skip_undefined_leaves_the_frame_out_and_counts_it(frames):
    clip = [frames[0], np.full_like(frames[0], 40), frames[1]]
    with pytest.warns(UserWarning, match=r"skipping frame 1 \(00000001.png\) of video 'fade'"):
        result = run(NIQE(skip_undefined=True), [sample('fade', clip)])
    assert result['NIQE'] == pytest.approx(np.mean([niqe(frames[0], 0), niqe(frames[1], 0)]))
    assert result['NIQE_skipped_frames'] == 1
    assert all(np.isfinite(v) for v in result.values())


def test_a_video_with_no_scorable_frame_is_left_out_and_none_at_all_is_an_error(frames):
    flat = [np.full_like(frames[0], 40)] * 2
    with pytest.warns(UserWarning):
        result = run(NIQE(skip_undefined=True), [sample('ok', frames[:1]), sample('flat', flat)])
    assert result['NIQE'] == pytest.approx(niqe(frames[0], 0))
    with pytest.warns(UserWarning), pytest.raises(UndefinedScoreError, match='no frame'):
        run(NIQE(skip_undefined=True), [sample('flat', flat)])


def test_gray_and_rgba_frames_are_converted_and_others_refused(frames):
    gray = cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY)
    data = DataSample(metainfo=dict(key='g'))
    data.output = DataSample(pred_img=torch.from_numpy(gray[None, None].astype(np.float32)))
    assert run(NIQE(), [data.to_dict()])['NIQE'] == pytest.approx(niqe(gray, 0, 'HW'))
    rgba = np.concatenate([frames[0], np.zeros_like(frames[0][..., :1])], -1)
    assert run(NIQE(), [sample('rgba', [rgba])])['NIQE'] == pytest.approx(niqe(frames[0], 0))
    five = np.concatenate([frames[0], frames[0][..., :2]], -1)
    with pytest.raises(ValueError, match=r"video 'five', frame 0 \(00000000.png\): .*5"):
        run(NIQE(), [sample('five', [five])])


def test_a_too_small_frame_is_named(frames):
    with pytest.raises(ValueError, match=r"video 'tiny', frame 0 .*too small for NIQE"):
        run(NIQE(), [sample('tiny', [frames[0][:64, :64]])])


@pytest.mark.parametrize('kwargs,match', [(dict(convert_to='hsv'), 'convert_to'),
                                          (dict(input_order='THWC'), 'input_order'),
                                          (dict(crop_border=-2), 'crop_border'),
                                          (dict(frames='every'), 'frames must be')])
def test_bad_options_fail_at_build_time(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NIQE(**kwargs)


def test_nrqm_and_pi_are_not_registered_and_a_config_asking_for_them_is_told_why(frames):
    import realbasicvsr_plugin.evaluation as evaluation
    for name in ('NRQM', 'PI'):
        assert name not in METRICS and not hasattr(evaluation, name)  # no stub classes
        for type_name in (name, f'realbasicvsr_plugin.{name}'):
            with pytest.raises(MetricUnavailableError, match='not distributed through PyPI'):
                METRICS.build(dict(type=type_name))
    # in an evaluator config, before anything is scored
    with pytest.raises(MetricUnavailableError, match=r"metric 'PI'.*perceptual_index\(nrqm"):
        Evaluator(metrics=[dict(type='NIQE'), dict(type='PI')])
    # other unknown names keep MMEngine's message
    with pytest.raises(KeyError, match='not in the') as err:
        METRICS.build(dict(type='NoSuchMetric'))
    assert not isinstance(err.value, MetricUnavailableError)


def test_perceptual_index_is_the_pirm_formula():
    # PIRM 2018: PI = ((10 - Ma) + NIQE) / 2
    assert perceptual_index(nrqm=8.0, niqe=3.0) == 2.5
    assert perceptual_index(nrqm=10.0, niqe=0.0) == 0.0


def test_works_through_mmengines_plain_evaluator(frames):
    from mmengine.evaluator import Evaluator as MMEngineEvaluator
    evaluator = MMEngineEvaluator(metrics=[dict(type='NIQE')])
    evaluator.process(data_samples=[sample('a', frames[:2]), sample('b', frames[2:3])])
    result = evaluator.evaluate(size=2)
    expected = np.mean([np.mean([niqe(f, 0) for f in frames[:2]]), niqe(frames[2], 0)])
    assert result['NIQE'] == pytest.approx(expected)


def test_a_sample_holding_one_frame_of_a_video_is_named_by_its_index_in_the_video(frames):
    data = sample('long', [np.full_like(frames[0], 40)], paths=['/data/long/00000042.png'])
    data['frame_index'] = 42
    with pytest.raises(UndefinedScoreError, match=r"video 'long', frame 42 \(00000042.png\)"):
        run(NIQE(), [data])
