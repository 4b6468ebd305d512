"""The inference API with the plugin's RealBasicVSRNet at toy size.

Claims:
* with chunking and tiling off, the streamed output equals the network run on the whole clip
  (within 1e-5 in float, before quantisation), and the PNG frames written are its quantisation;
* with chunking or tiling on, the difference from the whole-clip result is small, and overlap
  reduces it;
* a video comes out with the source's frame count, frame rate and audio (copied when the
  container allows it, else transcoded to AAC); a frame range restores exactly those frames;
* a folder of frames and a single image are inputs too.
"""
import numpy as np
import pytest
import torch

from realbasicvsr_plugin.apis import streaming_inferencer
from realbasicvsr_plugin.apis import (InferenceError, StreamingInferencer, load_model,
                                      super_resolve, to_uint8)
from test_inference_utils import (FPS, moving_frames, probe, read_video, tiny_net,
                                  write_frames, write_tiny_model, write_video)


def whole_clip(net, frames: np.ndarray) -> torch.Tensor:
    """The reference: the network on the whole clip at once, (t, 3, H, W) float."""
    lqs = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
    with torch.no_grad():
        return net(lqs)[0]


def streamed(net, frames: np.ndarray, **options) -> torch.Tensor:
    options.setdefault('device', 'cpu')
    inferencer = StreamingInferencer(net, **options)
    return torch.stack(list(inferencer.restore(iter(frames))))


def read_pngs(folder) -> np.ndarray:
    import cv2
    files = sorted(folder.glob('*.png'))
    return np.stack([cv2.imread(str(f), cv2.IMREAD_COLOR)[..., ::-1] for f in files])


@pytest.fixture(scope='module')
def net():
    return tiny_net(seed=0)


@pytest.fixture(scope='module')
def clip():
    return moving_frames(t=6, h=32, w=32, seed=0)


def test_streamed_output_equals_whole_clip_when_chunking_and_tiling_are_off(net, clip):
    reference = whole_clip(net, clip)
    out = streamed(net, clip, max_seq_len=0, tile=0)
    assert out.shape == (6, 3, 128, 128)
    assert (out - reference).abs().max().item() <= 1e-5


def test_png_output_is_the_quantised_whole_clip_result(net, clip, tmp_path):
    folder = write_frames(tmp_path / 'in', clip)
    summary = super_resolve(folder, tmp_path / 'out', model=net, device='cpu', max_seq_len=0,
                            tile=0)
    assert summary.frames == 6 and summary.kind == 'frames'
    written = read_pngs(tmp_path / 'out')
    expected = np.stack([to_uint8(f) for f in whole_clip(net, clip)])
    # equal up to float rounding at a .5 boundary: at most 1 level, on almost no pixel
    diff = np.abs(written.astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == \
        [f'{i:05d}.png' for i in range(6)]  # frames keep the input's names


def test_chunk_difference_is_small_and_temporal_overlap_reduces_it(net):
    frames = moving_frames(t=6, h=32, w=32, seed=3)
    reference = whole_clip(net, frames)
    diff = {ov: (streamed(net, frames, max_seq_len=3, overlap=ov) - reference).abs().mean().item()
            for ov in (0, 1)}
    print(f'\nmean |chunked - whole|, 3-frame chunks: overlap 0: {diff[0]:.2e}, '
          f'overlap 1: {diff[1]:.2e}')
    assert 0 < diff[1] < diff[0] < 0.05


def test_tile_difference_is_small_and_tile_overlap_reduces_it(net):
    frames = moving_frames(t=3, h=64, w=128, seed=4)
    reference = whole_clip(net, frames)
    # 64-pixel tiles: abutting without overlap, three tiles with 16 pixels of overlap
    diff = {ov: (streamed(net, frames, max_seq_len=0, tile=64, tile_overlap=ov) - reference)
            .abs().mean().item() for ov in (0, 16)}
    print(f'\nmean |tiled - whole|, 64-pixel tiles: overlap 0: {diff[0]:.2e}, '
          f'overlap 16: {diff[16]:.2e}')
    assert 0 < diff[16] < diff[0] < 0.05


def test_video_keeps_frame_count_rate_and_copies_the_audio(net, clip, tmp_path):
    source = write_video(tmp_path / 'in.mp4', clip, audio='aac')
    summary = super_resolve(source, tmp_path / 'out.mp4', model=net, device='cpu',
                            max_seq_len=3, overlap=1)
    assert summary.audio == 'copy'
    info = probe(tmp_path / 'out.mp4')
    assert info['video'] == 'h264' and info['fps'] == FPS and info['size'] == (128, 128)
    assert info['audio'] == 'aac'
    assert abs(info['audio_seconds'] - probe(source)['audio_seconds']) < 1e-6
    out = read_video(tmp_path / 'out.mp4')
    assert len(out) == len(clip)
    # the encoded video is the restored clip up to the codec's loss (crf 18)
    expected = np.stack([to_uint8(f) for f in streamed(net, clip, max_seq_len=3, overlap=1)])
    assert np.abs(out.astype(float) - expected).mean() < 4


def test_audio_that_the_container_cannot_hold_is_transcoded_to_aac(net, tmp_path):
    frames = moving_frames(t=5, h=32, w=32)
    source = write_video(tmp_path / 'in.mkv', frames, audio='pcm_u8')  # not allowed in MP4
    summary = super_resolve(source, tmp_path / 'out.mp4', model=net, device='cpu')
    assert summary.audio == 'transcode'
    info = probe(tmp_path / 'out.mp4')
    assert info['audio'] == 'aac'
    # AAC adds up to two frames of 1024 samples (priming, padding) at 16 kHz
    assert 5 / FPS <= info['audio_seconds'] <= 5 / FPS + 2048 / 16000 + 1e-6


def test_no_audio_option_and_silent_sources_give_a_video_without_audio(net, tmp_path):
    frames = moving_frames(t=3, h=32, w=32)
    with_audio = write_video(tmp_path / 'a.mp4', frames, audio='aac')
    silent = write_video(tmp_path / 's.mp4', frames)
    assert super_resolve(with_audio, tmp_path / 'o1.mkv', model=net, device='cpu',
                         audio=False).audio is None
    assert super_resolve(silent, tmp_path / 'o2.mkv', model=net, device='cpu').audio is None
    assert probe(tmp_path / 'o1.mkv')['audio'] is None
    assert probe(tmp_path / 'o2.mkv')['audio'] is None


def test_frame_range_restores_exactly_those_frames_and_trims_the_audio(net, clip, tmp_path):
    source = write_video(tmp_path / 'in.mp4', clip, audio='aac')
    summary = super_resolve(source, tmp_path / 'out', model=net, device='cpu', start=2, end=5,
                            max_seq_len=0)
    assert summary.frames == 3
    written = read_pngs(tmp_path / 'out')
    expected = np.stack([to_uint8(f) for f in whole_clip(net, clip[2:5])])
    assert np.abs(written.astype(int) - expected).max() <= 1
    super_resolve(source, tmp_path / 'range.mp4', model=net, device='cpu', start=2, end=5)
    info = probe(tmp_path / 'range.mp4')
    assert len(read_video(tmp_path / 'range.mp4')) == 3
    assert info['audio_seconds'] == pytest.approx(3 / FPS, abs=0.07)  # packet granularity


def test_frame_range_beyond_the_end_is_an_error(net, clip, tmp_path):
    folder = write_frames(tmp_path / 'in', clip)
    with pytest.raises(InferenceError, match='only 6 frames'):
        super_resolve(folder, tmp_path / 'out', model=net, device='cpu', start=20)
    assert not (tmp_path / 'out').exists()


def test_frames_with_the_same_stem_are_numbered_instead(net, clip, tmp_path):
    import cv2
    folder = tmp_path / 'in'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.png'), clip[0][..., ::-1])
    cv2.imwrite(str(folder / 'a.bmp'), clip[1][..., ::-1])
    super_resolve(folder, tmp_path / 'out', model=net, device='cpu')
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == \
        ['00000000.png', '00000001.png']


def test_folder_of_frames_to_video_uses_the_given_frame_rate(net, clip, tmp_path):
    folder = write_frames(tmp_path / 'in', clip[:4], ext='.jpg')
    super_resolve(folder, tmp_path / 'out.mkv', model=net, device='cpu', fps=12, codec='libx265',
                  crf=28)
    info = probe(tmp_path / 'out.mkv')
    assert info['video'] == 'hevc' and info['fps'] == 12
    assert len(read_video(tmp_path / 'out.mkv')) == 4


def test_single_image_in_single_image_out(net, clip, tmp_path):
    import cv2
    cv2.imwrite(str(tmp_path / 'in.png'), clip[0][..., ::-1])
    summary = super_resolve(tmp_path / 'in.png', tmp_path / 'out.png', model=net, device='cpu')
    assert summary.frames == 1
    out = cv2.imread(str(tmp_path / 'out.png'))[..., ::-1]
    expected = to_uint8(whole_clip(net, clip[:1])[0])
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_refinement_options_reach_the_network(clip, tmp_path):
    frames = clip[:3]
    net = tiny_net(seed=0)
    # threshold 0: every frame keeps being cleaned up to the pass limit
    inferencer = StreamingInferencer(net, device='cpu', dynamic_refine_thres=0, max_passes=2)
    list(inferencer.restore(iter(frames)))
    assert inferencer.mean_passes() == 2
    inferencer = StreamingInferencer(net, device='cpu', dynamic_refine_thres='off')
    list(inferencer.restore(iter(frames)))
    assert inferencer.mean_passes() == 1


def test_model_from_config_and_checkpoint_uses_the_ema_weights(clip, tmp_path):
    config, checkpoint, ema = write_tiny_model(tmp_path)
    net, cfg = load_model(config, str(checkpoint), device='cpu')
    for name, value in ema.state_dict().items():
        assert torch.equal(net.state_dict()[name], value), name
    assert type(net).__module__.startswith('realbasicvsr_plugin')


def test_checkpoint_alone_loads_into_the_papers_architecture(tmp_path):
    from realbasicvsr_plugin.models import RealBasicVSRNet
    torch.manual_seed(5)
    paper = RealBasicVSRNet()  # 64 channels, 20 + 20 blocks, x4
    torch.save({'state_dict': {f'generator_ema.{k}': v for k, v in paper.state_dict().items()}},
               tmp_path / 'paper.pth')
    net, cfg = load_model(None, str(tmp_path / 'paper.pth'), device='cpu')
    assert cfg is None
    assert sum(p.numel() for p in net.parameters()) == \
        sum(p.numel() for p in paper.parameters())
    assert all(torch.equal(v, paper.state_dict()[k]) for k, v in net.state_dict().items())
    assert net.dynamic_refine_thres == 5  # the test threshold, not training's 255


def test_fp16_is_refused_on_cpu(net, clip, tmp_path):
    folder = write_frames(tmp_path / 'in', clip[:2])
    with pytest.raises(InferenceError, match="precision 'fp16' needs a CUDA GPU"):
        super_resolve(folder, tmp_path / 'out', model=net, device='cpu', precision='fp16')
    assert not (tmp_path / 'out').exists()


def test_bf16_is_refused_on_a_cpu_without_native_bfloat16(net, clip, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming_inferencer, 'cpu_has_native_bf16', lambda: False)
    folder = write_frames(tmp_path / 'in', clip[:2])
    with pytest.raises(InferenceError, match="precision 'bf16' on a CPU needs native bfloat16"):
        super_resolve(folder, tmp_path / 'out', model=net, device='cpu', precision='bf16')


@pytest.mark.parametrize('theta', [None, 0.0])
def test_bf16_on_cpu_runs_in_bfloat16_and_is_close_to_fp32(net, clip, monkeypatch, theta):
    # hardware-independent: where the CPU lacks native bfloat16 oneDNN emulates it (slowly)
    monkeypatch.setattr(streaming_inferencer, 'cpu_has_native_bf16', lambda: True)
    options = dict(max_seq_len=0, dynamic_refine_thres='off' if theta is None else theta)
    fp32 = streamed(net, clip, **options)
    bf16 = streamed(net, clip, precision='bf16', **options)
    assert bf16.dtype == torch.float32 and bf16.shape == fp32.shape
    diff = (bf16 - fp32).abs()
    assert diff.max() > 0  # it did run in bfloat16
    assert diff.mean().item() < 1e-2


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
@pytest.mark.parametrize('precision', ['fp16', 'bf16'])
def test_half_precision_on_gpu_is_close_to_fp32(net, clip, precision):
    fp32 = streamed(net, clip, device='cuda', max_seq_len=0)
    half = streamed(net, clip, device='cuda', precision=precision, max_seq_len=0)
    assert (half - fp32).abs().mean().item() < 2e-2
