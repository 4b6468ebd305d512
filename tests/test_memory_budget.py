"""The memory budget: sizes, the per-pixel memory model, the planner's choices, its refusals,
and a run whose peak resident memory stays under a small budget."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from realbasicvsr_plugin.apis import InferenceError
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.memory_budget import (MAX_AUTO_SEQ_LEN, TILE_SIZES, MemoryModel,
                                                    format_size, parse_size, plan_chunks)
from test_inference_utils import moving_frames, write_tiny_model, write_video

REPO = Path(__file__).resolve().parents[1]
MIB, GIB = 1 << 20, 1 << 30


@pytest.mark.parametrize('text,size', [
    ('6G', 6 * GIB), ('512M', 512 * MIB), ('1.5GiB', 3 * GIB // 2), ('4GB', 4 * GIB),
    ('800k', 800 << 10), (1024, 1024), ('2t', 2 << 40), (' 3 g ', 3 * GIB)])
def test_sizes(text, size):
    assert parse_size(text) == size
    assert parse_size(format_size(size)) >= size  # the minimum in messages reads back


@pytest.mark.parametrize('text', ['abc', '0', '-1G', '', '6X', '0.1', True, 'nan'])
def test_a_budget_that_is_not_a_size_is_one_line_naming_the_parameter(text):
    with pytest.raises(InferenceError, match='max_memory must be a') as err:
        parse_size(text)
    assert err.value.param == 'max_memory' and '\n' not in str(err.value)


PAPER = MemoryModel(mid_channels=64, scale=4)


def test_memory_model_grows_with_chunk_length_and_frame_size_and_tiles_save():
    one = PAPER.chunk_bytes(1, 360, 640, None, 4)
    # per frame of a 640x360 chunk: 4 x (6 input/cleaned/flow values... + 64 features) bytes
    # per pixel, about 84 MB, the backward features being most of it
    per_frame = PAPER.chunk_bytes(2, 360, 640, None, 4) - one
    assert 75e6 < per_frame < 110e6
    assert PAPER.chunk_bytes(32, 360, 640, None, 4) > 20 * per_frame
    assert PAPER.chunk_bytes(8, 720, 1280, None, 4) > 3.5 * PAPER.chunk_bytes(8, 360, 640, None, 4)
    # tiles hold only a tile's features per frame (but the chunk's HR output while blending)
    assert PAPER.chunk_bytes(8, 1080, 1920, 256, 4) < PAPER.chunk_bytes(8, 1080, 1920, None, 4)
    # the demo network (32 channels) needs less
    demo = MemoryModel(mid_channels=32, scale=4)
    assert demo.chunk_bytes(8, 360, 640, None, 4) < PAPER.chunk_bytes(8, 360, 640, None, 4)


def plan(budget, **kwargs):
    settings = dict(size=(360, 640), budget=budget, reserved=GIB, model=PAPER, overlap=4)
    settings.update(kwargs)
    return plan_chunks(**settings)


def test_planner_takes_the_longest_chunk_that_fits_and_tiles_only_when_needed():
    roomy = plan(64 * GIB)
    assert (roomy.max_seq_len, roomy.tile) == (MAX_AUTO_SEQ_LEN, None)
    tight = plan(GIB + PAPER.chunk_bytes(12, 360, 640, None, 4))
    assert (tight.max_seq_len, tight.tile) == (12, None) and tight.estimate <= tight.budget
    # not even 8 frames (half overlap) fit whole: tiles, the largest that fit
    tiled = plan(GIB + PAPER.chunk_bytes(6, 360, 640, None, 4))
    assert tiled.tile is not None and tiled.max_seq_len >= 8 and tiled.estimate <= tiled.budget
    larger = [s for s in TILE_SIZES if tiled.tile < s < 640]
    assert not any(plan_fits(tiled.budget, 8, s) for s in larger)
    # a short clip gets one chunk of its own length
    assert plan(64 * GIB, num_frames=10).max_seq_len == 10


def plan_fits(budget, t, tile):
    return GIB + PAPER.chunk_bytes(t, 360, 640, tile, 4) <= budget


def test_explicit_settings_win_and_a_combination_that_cannot_fit_is_refused_with_the_minimum():
    assert plan(64 * GIB, max_seq_len=8).max_seq_len == 8  # shorter than what fits: kept
    assert plan(64 * GIB, tile=128).tile == 128  # tiles though not needed: kept
    assert plan(64 * GIB, max_seq_len=0, num_frames=50).max_seq_len is None  # whole clip
    with pytest.raises(InferenceError) as err:
        plan(2 * GIB, max_seq_len=32, tile=0)
    message = str(err.value)
    assert err.value.param == 'max_memory' and '32 frames of 640x360' in message
    minimum = parse_size(message.rsplit('give at least ', 1)[1])
    assert plan(minimum, max_seq_len=32, tile=0).max_seq_len == 32  # the minimum does fit


def test_a_budget_below_the_smallest_work_unit_gives_the_minimum():
    with pytest.raises(InferenceError, match='too small') as err:
        plan(GIB + 1000)
    minimum = parse_size(str(err.value).rsplit('give at least ', 1)[1])
    smallest = plan(minimum)
    assert smallest.tile == 64 and smallest.max_seq_len == 5  # overlap + 1 frames, 64 px tiles


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('budget')
    config, checkpoint, _ = write_tiny_model(root)
    clip = write_video(root / 'clip.mp4', moving_frames(t=12, h=48, w=64), audio=None)
    return root, ['--config', str(config), '--checkpoint', str(checkpoint), '--no-progress']


@pytest.mark.parametrize('value', ['abc', '0', '-1G'])
def test_cli_refuses_a_budget_that_is_not_a_size_in_one_line(value, tiny, tmp_path, capsys):
    root, model = tiny
    code = main([str(root / 'clip.mp4'), str(tmp_path / 'out.mp4'), *model,
                 f'--max-memory={value}'])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert '--max-memory must be a' in err and 'max_memory' not in err.replace('--max-memory', '')


def test_a_frame_too_large_for_the_budget_is_refused_before_decoding(tiny, tmp_path, capsys,
                                                                     monkeypatch):
    from realbasicvsr_plugin.apis import frame_readers
    decoded = []
    frames = frame_readers.VideoFileReader._frames
    monkeypatch.setattr(frame_readers.VideoFileReader, '_frames',
                        lambda self: (decoded.append(1) or f for f in frames(self)))
    root, model = tiny
    code = main([str(root / 'clip.mp4'), str(tmp_path / 'out.mp4'), *model,
                 '--max-memory', '64M'])  # less than the interpreter with torch already holds
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert '--max-memory 64M is too small' in err and 'give at least' in err
    assert decoded == [] and not (tmp_path / 'out.mp4').exists()


CHILD = textwrap.dedent('''
    import json, resource, sys
    import numpy as np, torch
    from realbasicvsr_plugin.apis import StreamingInferencer, to_uint8
    from realbasicvsr_plugin.apis.memory_budget import resident_bytes
    from realbasicvsr_plugin.models import RealBasicVSRNet
    from realbasicvsr_plugin.models import inference_schedule
    torch.set_num_threads(1)
    torch.manual_seed(0)
    # toy pieces, so that the per-frame terms decide at toy size (the model reads both)
    inference_schedule.FLOW_PIECE_PIXELS = 1 << 14
    net = RealBasicVSRNet(mid_channels=32, num_propagation_blocks=1, num_cleaning_blocks=1,
                          dynamic_refine_thres=None, cpu_cache_bytes=1 << 20).eval()
    h, w, t = 64, 96, 16
    g = np.random.default_rng(0)
    scene = (g.random((h, w + t, 3)) * 255).astype(np.uint8)
    frames = [scene[:, i:i + w] for i in range(t)]
    # warm the allocator and the kernels on a short chunk, then budget what is in use + extra
    list(StreamingInferencer(net, device='cpu', max_seq_len=2, overlap=0,
                             max_memory='64G').restore(iter(frames[:2])))
    budget = resident_bytes() + int(sys.argv[1]) * 2**20
    # the peak from here on (VmHWM, reset through clear_refs): start-up transients (imports)
    # come before any budget is set
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        def peak_bytes():
            for line in open('/proc/self/status'):
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        def peak_bytes():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    inf = StreamingInferencer(net, device='cpu', max_memory=budget, overlap=2)
    n = sum(to_uint8(out).shape[0] > 0 for out in inf.restore(iter(frames)))
    peak = peak_bytes()
    print(json.dumps(dict(frames=n, peak=peak, budget=budget, plan=inf.plan.max_seq_len,
                          tile=inf.plan.tile, estimate=inf.plan.estimate)))
''')


def test_peak_resident_memory_stays_under_a_small_budget():
    # 16 frames of 64x96 -> 256x384 with a 32-channel network; with 30 MB more than is in use
    # the planner must choose chunks shorter than the clip, and the process's peak RSS
    # (VmHWM from the moment the budget is set: interpreter, libraries and all) must stay under
    # the budget
    result = subprocess.run([sys.executable, '-c', CHILD, '30'], capture_output=True, text=True,
                            timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    r = json.loads(result.stdout.strip().splitlines()[-1])
    assert r['frames'] == 16
    assert r['plan'] is not None and r['plan'] < 16 and r['tile'] is None, r
    assert r['estimate'] <= r['budget']
    assert r['peak'] <= r['budget'], (r, 'peak RSS over the budget')
