"""ONNX export and the ONNX Runtime backend (issue 14): the graphs are valid, dynamic and
self-describing, ONNX Runtime gives the PyTorch network's outputs, bad folders fail early."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import onnx  # the deploy extra (requirements/deploy.txt) is part of the test environment
import onnxruntime as ort

from realbasicvsr_plugin.apis import InferenceError, load_model, super_resolve  # noqa: E402
from realbasicvsr_plugin.apis.cli import main as cli_main  # noqa: E402
from realbasicvsr_plugin.deploy import (BASICVSR_FILE, CLEANING_FILE, OnnxRuntimeNet,  # noqa
                                        export_onnx, select_providers, weights_fingerprint)
from realbasicvsr_plugin.deploy.export_cli import main as export_main  # noqa: E402
from realbasicvsr_plugin.models import RealBasicVSRNet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# The module's exports (demo model, paper-size net) are traced once each, by whichever test needs
# them first; on a loaded 2-core machine one export takes minutes, beyond the suite's 600 s.
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope='module')
def demo_net():
    net, _ = load_model()  # the demo model shipped in the package
    return net


@pytest.fixture(scope='module')
def demo_onnx(tmp_path_factory, demo_net):
    """The demo model exported through the command line (opset 18)."""
    out = tmp_path_factory.mktemp('onnx_demo')
    assert export_main([str(out), '--overwrite', '--quiet']) == 0
    return out


@pytest.fixture(scope='module')
def paper_net():
    torch.manual_seed(0)
    net = RealBasicVSRNet(mid_channels=64, num_propagation_blocks=20, num_cleaning_blocks=20,
                          dynamic_refine_thres=5.0, max_passes=3, scale=4).eval()
    return net


@pytest.fixture(scope='module')
def paper_onnx(tmp_path_factory, paper_net):
    """A paper-size network with random weights (the export takes minutes on a loaded CPU)."""
    out = tmp_path_factory.mktemp('onnx_paper')
    export_onnx(paper_net, out)
    return out


def frames(n, t, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, t, 3, h, w, generator=g)


def pytorch_reference(net, lqs):
    with torch.no_grad():
        out = net(lqs)
    return out, net.last_passes.clone()


# ---------------------------------------------------------------------------------- the graphs
def test_graphs_are_valid_dynamic_and_carry_their_settings(demo_onnx, demo_net):
    for name, graph in ((CLEANING_FILE, 'cleaning'), (BASICVSR_FILE, 'basicvsr')):
        model = onnx.load(str(demo_onnx / name))
        onnx.checker.check_model(model, full_check=True)
        opset = max(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx'))
        assert opset >= 17
        meta = {p.key: p.value for p in model.metadata_props}
        assert meta['realbasicvsr.graph'] == graph
        assert meta['realbasicvsr.scale'] == '4'
        assert float(meta['realbasicvsr.dynamic_refine_thres']) == 5.0  # the demo's test theta
        assert meta['realbasicvsr.max_passes'] == '3'
        assert meta['realbasicvsr.min_size'] == str(demo_net.min_size)  # the shipped config's
        assert meta['realbasicvsr.model_id'] == weights_fingerprint(demo_net)
        norm = json.loads(meta['realbasicvsr.input'])
        assert norm['range'] == [0.0, 1.0] and norm['colour'] == 'RGB'
        assert norm['mean'] == [0.0] * 3 and norm['std'] == [1.0] * 3
        dims = model.graph.input[0].type.tensor_type.shape.dim
        symbolic = [bool(d.dim_param) for d in dims]
        # batch, (frames,) height and width are named dimensions; only the channels are fixed
        assert symbolic == ([True, False, True, True] if graph == 'cleaning'
                            else [True, True, False, True, True])
    ops = {n.op_type for n in onnx.load(str(demo_onnx / BASICVSR_FILE)).graph.node}
    assert 'Scan' in ops  # the recurrences are loops over a dynamic chunk length, not unrolled


# ---------------------------------------------------------------------------------- equality
@pytest.mark.parametrize('shape', [(1, 5, 40, 56), (1, 1, 36, 36), (2, 2, 24, 44)])
def test_onnxruntime_equals_pytorch_demo_model(demo_onnx, demo_net, shape):
    """Two sizes (and one under min_size, padded), chunk lengths 5, 1 and 2, one graph."""
    ort_net = OnnxRuntimeNet(demo_onnx, providers='cpu')
    lqs = frames(*shape)
    ref, ref_passes = pytorch_reference(demo_net, lqs)
    out = ort_net(lqs)
    assert out.shape == ref.shape
    assert (out - ref).abs().max().item() < 1e-4
    assert torch.equal(ort_net.last_passes, ref_passes)


def test_onnxruntime_equals_pytorch_paper_size_random_weights(paper_onnx, paper_net):
    ort_net = OnnxRuntimeNet(paper_onnx, providers='cpu')
    assert ort_net.matches(paper_net)
    for shape in ((1, 3, 64, 64), (1, 2, 48, 80)):
        lqs = frames(*shape, seed=1)
        ref, ref_passes = pytorch_reference(paper_net, lqs)
        out = ort_net(lqs)
        assert (out - ref).abs().max().item() < 1e-4
        assert torch.equal(ort_net.last_passes, ref_passes)


def test_refinement_per_frame_and_stopped_frames_are_not_recomputed(demo_onnx, demo_net):
    """Theta between the frames' first-pass changes: some frames stop after one pass, and the
    cleaning graph sees each frame exactly as many times as its pass count."""
    lqs = frames(1, 6, 40, 40, seed=3)
    lqs[0, :3] = lqs[0, :3] * 0.1 + 0.45  # flat frames change less than noisy ones
    with torch.no_grad():
        first = demo_net.image_cleaning(lqs[0]).abs().mean(dim=(1, 2, 3)) * 255
    theta = float(first.sort().values[2:4].mean())
    ort_net = OnnxRuntimeNet(demo_onnx, providers='cpu')
    demo_net.set_refinement(theta, 3)
    ort_net.set_refinement(theta, 3)
    try:
        ref, ref_passes = pytorch_reference(demo_net, lqs)
    finally:
        demo_net.set_refinement(5.0, 3)
    seen = []
    run = ort_net._run

    def counting(graph, array):
        if graph == 'cleaning':
            seen.append(len(array))
        return run(graph, array)

    ort_net._run = counting
    out = ort_net(lqs)
    assert (out - ref).abs().max().item() < 1e-4
    assert torch.equal(ort_net.last_passes, ref_passes)
    assert ref_passes.min() == 1 and ref_passes.max() > 1  # frames stopped at different passes
    assert sum(seen) == int(ref_passes.sum())


def write_frames(folder: Path, count: int, h: int, w: int):
    import cv2

    folder.mkdir()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for i in range(count):
        img = np.roll(base, i, axis=1)
        cv2.imwrite(str(folder / f'{i:04d}.png'), img)


def read_frames(folder: Path):
    import cv2

    return [cv2.imread(str(p)) for p in sorted(folder.glob('*.png'))]


def test_command_line_backend_equals_pytorch_through_streaming_path(tmp_path, demo_onnx):
    """Chunks with overlap and tiles with overlap: the same frames out of both backends."""
    src = tmp_path / 'in'
    write_frames(src, 7, 40, 48)
    common = ['--max-seq-len', '4', '--overlap', '1', '--tile', '32', '--tile-overlap', '8',
              '--quiet']
    assert cli_main([str(src), str(tmp_path / 'pt'), '--device', 'cpu'] + common) == 0
    assert cli_main([str(src), str(tmp_path / 'ort'), '--backend', 'onnxruntime', '--onnx',
                     str(demo_onnx), '--providers', 'cpu'] + common) == 0
    pt, rt = read_frames(tmp_path / 'pt'), read_frames(tmp_path / 'ort')
    assert len(pt) == len(rt) == 7 and pt[0].shape == (160, 192, 3)
    for a, b in zip(pt, rt):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # rounding of equal floats


def test_checkpoint_given_must_match_the_folder(tmp_path, demo_onnx, paper_net):
    ckpt = tmp_path / 'other.pth'
    torch.save({'state_dict': paper_net.state_dict()}, ckpt)
    write_frames(tmp_path / 'in', 2, 32, 32)
    with pytest.raises(InferenceError, match='exported from other weights'):
        super_resolve(tmp_path / 'in', tmp_path / 'out', backend='onnxruntime',
                      onnx=demo_onnx, checkpoint=str(ckpt))


def test_a_model_object_with_the_onnxruntime_backend_is_refused(tmp_path, demo_onnx, demo_net):
    write_frames(tmp_path / 'in', 2, 32, 32)
    with pytest.raises(InferenceError, match='backend onnxruntime runs the graphs') as err:
        super_resolve(tmp_path / 'in', tmp_path / 'out', backend='onnxruntime',
                      onnx=demo_onnx, model=demo_net)
    assert err.value.param == 'model'
    assert not (tmp_path / 'out').exists()


# ---------------------------------------------------------------------------------- bad folders
def _fail_if_decoded(monkeypatch):
    import realbasicvsr_plugin.apis.inference as inference

    def no_decoding(*args, **kwargs):
        raise AssertionError('a frame reader was opened before the ONNX folder was checked')

    monkeypatch.setattr(inference, 'open_frame_reader', no_decoding)


def _run_cli_error(capsys, args):
    assert cli_main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture
def video_args(tmp_path):
    src = tmp_path / 'in'
    write_frames(src, 2, 32, 32)
    return [str(src), str(tmp_path / 'out')]


def _copy(folder, tmp_path, name='copy'):
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


def test_missing_graph_names_the_file(tmp_path, demo_onnx, capsys, monkeypatch, video_args):
    bad = _copy(demo_onnx, tmp_path)
    (bad / BASICVSR_FILE).unlink()
    _fail_if_decoded(monkeypatch)
    err = _run_cli_error(capsys, video_args + ['--backend', 'onnxruntime', '--onnx', str(bad)])
    assert 'not found' in err and str(bad / BASICVSR_FILE) in err


def test_corrupt_graph_names_the_file(tmp_path, demo_onnx, capsys, monkeypatch, video_args):
    bad = _copy(demo_onnx, tmp_path)
    data = (bad / CLEANING_FILE).read_bytes()
    (bad / CLEANING_FILE).write_bytes(data[:len(data) // 3] + b'\xff' * 64)
    _fail_if_decoded(monkeypatch)
    err = _run_cli_error(capsys, video_args + ['--backend', 'onnxruntime', '--onnx', str(bad)])
    assert 'corrupt' in err and str(bad / CLEANING_FILE) in err


def test_graphs_of_two_networks_are_refused(tmp_path, demo_onnx, capsys, monkeypatch,
                                            video_args):
    mixed = _copy(demo_onnx, tmp_path)

    def edit(model):  # the BasicVSR graph of another network (other weights' fingerprint)
        for p in model.metadata_props:
            if p.key == 'realbasicvsr.model_id':
                p.value = '0' * 64

    _rewrite(mixed / BASICVSR_FILE, edit)
    _fail_if_decoded(monkeypatch)
    err = _run_cli_error(capsys, video_args + ['--backend', 'onnxruntime', '--onnx', str(mixed)])
    assert 'another network' in err and str(mixed / BASICVSR_FILE) in err


def _rewrite(path: Path, edit):
    model = onnx.load(str(path))
    edit(model)
    onnx.save_model(model, str(path))


def test_other_format_version_is_refused(tmp_path, demo_onnx, capsys, monkeypatch, video_args):
    bad = _copy(demo_onnx, tmp_path)

    def edit(model):
        for p in model.metadata_props:
            if p.key == 'realbasicvsr.format':
                p.value = '0'

    _rewrite(bad / CLEANING_FILE, edit)
    _fail_if_decoded(monkeypatch)
    err = _run_cli_error(capsys, video_args + ['--backend', 'onnxruntime', '--onnx', str(bad)])
    assert 'format 0' in err and str(bad / CLEANING_FILE) in err and 'export it again' in err


def test_opset_the_runtime_cannot_run_names_the_versions(tmp_path, demo_onnx, capsys,
                                                         monkeypatch, video_args):
    bad = _copy(demo_onnx, tmp_path)

    def edit(model):
        for o in model.opset_import:
            if o.domain in ('', 'ai.onnx'):
                o.version = 99

    _rewrite(bad / CLEANING_FILE, edit)
    _fail_if_decoded(monkeypatch)
    err = _run_cli_error(capsys, video_args + ['--backend', 'onnxruntime', '--onnx', str(bad)])
    assert str(bad / CLEANING_FILE) in err
    assert f'onnxruntime {ort.__version__}' in err and 'opset 99' in err


def test_without_the_extra_one_line_says_what_to_install(monkeypatch, capsys, video_args,
                                                         demo_onnx):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import fails as when not installed
    err = _run_cli_error(capsys, video_args + ['--backend', 'onnxruntime', '--onnx',
                                               str(demo_onnx)])
    assert "pip install 'realbasicvsr_plugin[deploy]'" in err and '--backend' in err


def test_onnx_folder_without_the_backend_is_refused(capsys, video_args, demo_onnx):
    err = _run_cli_error(capsys, video_args + ['--onnx', str(demo_onnx)])
    assert err.endswith('--onnx is read by backend onnxruntime only (the backend is pytorch)')


def test_a_deep_copy_has_its_own_settings_and_shares_the_sessions(demo_onnx):
    import copy

    net = OnnxRuntimeNet(demo_onnx, providers='cpu')
    clone = copy.deepcopy(net)
    clone.set_refinement(None, 1)
    assert net.dynamic_refine_thres == 5.0 and net.max_passes == 3
    assert clone.sessions['cleaning'] is net.sessions['cleaning']
    clone(frames(1, 2, 32, 32))
    assert clone.last_passes.tolist() == [[1, 1]] and net.last_passes is None


# ---------------------------------------------------------------------------------- providers
def test_providers(monkeypatch, tmp_path):
    assert select_providers('cpu') == ['CPUExecutionProvider']
    assert select_providers('auto')[-1] == 'CPUExecutionProvider'
    if 'CUDAExecutionProvider' not in ort.get_available_providers():
        with pytest.raises(InferenceError, match="'cuda' .* is not available"):
            select_providers('cuda')
    with pytest.raises(InferenceError, match='unknown execution provider'):
        select_providers('opencl')
    with pytest.raises(InferenceError, match='TensorRT provider is not selected'):
        select_providers('cpu', fp16=True)
    # with onnxruntime-gpu present, 'auto' prefers TensorRT (fp16, engine cache), then CUDA
    monkeypatch.setattr(ort, 'get_available_providers', lambda: [
        'TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider'])
    chosen = select_providers('auto', fp16=True, trt_cache=tmp_path / 'engines')
    assert chosen[0][0] == 'TensorrtExecutionProvider'
    assert chosen[0][1]['trt_fp16_enable'] is True
    assert chosen[0][1]['trt_engine_cache_path'] == str(tmp_path / 'engines')
    assert (tmp_path / 'engines').is_dir()
    assert chosen[1:] == ['CUDAExecutionProvider', 'CPUExecutionProvider']


# ---------------------------------------------------------------------------------- export CLI
def test_export_refuses_low_opset_and_existing_graphs(demo_onnx, capsys):
    assert export_main([str(demo_onnx), '--opset', '16']) == 1
    assert '--opset must be an integer >= 17' in capsys.readouterr().err
    assert export_main([str(demo_onnx)]) == 1
    err = capsys.readouterr().err.strip()
    assert 'exists' in err and '--overwrite' in err and len(err.splitlines()) == 1


def test_export_model_by_name_is_passed_on_or_refused(tmp_path, capsys, monkeypatch):
    import inspect

    import realbasicvsr_plugin.apis.model_loading as model_loading

    code = export_main(['--model', 'realbasicvsr_x4', str(tmp_path / 'o')])
    err = capsys.readouterr().err.strip()
    params = inspect.signature(model_loading.load_model).parameters
    if 'model_name' in params or 'model' in params:
        assert 'cannot load weights by name' not in err
    else:
        assert code == 1 and 'cannot load weights by name' in err
    assert len(err.splitlines()) == 1


def test_python_m_deploy_export_usage():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, '-m', 'realbasicvsr_plugin.deploy', 'export',
                           '--help'], capture_output=True, text=True, timeout=120, env=env,
                          cwd=ROOT)
    assert proc.returncode == 0 and '--checkpoint' in proc.stdout and 'OUT_DIR' in proc.stdout
