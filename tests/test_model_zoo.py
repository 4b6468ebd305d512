"""Released weights by name: MMagic's URLs, verified by the sha256 prefix, cached, right threshold.

Claims:
* the two names resolve to the download.openmmlab.com URLs of MMagic 1.2.0's metafile, and the
  networks have the architecture of MMagic's configs with the paper's test thresholds
  (5 for the GAN model of stage 2, 1.5 for the stage-1 model);
* a model is downloaded once (through torch.hub) into the cache, checked against the sha256
  prefix of its file name, and loaded with its weights; a file that does not match its name is
  refused and nothing is kept; a damaged cached file is fetched again;
* ``--model NAME`` runs end to end; ``--list-models`` lists them; an unknown name gets one line
  that lists the known ones.

Everything is served on loopback by the test (no real weights are downloaded).
"""
import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
import torch
import yaml

from realbasicvsr_plugin.apis import InferenceError, load_model
from realbasicvsr_plugin.apis import official_models as zoo
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.apis.model_loading import PAPER_GENERATOR, build_generator
from test_inference_utils import moving_frames, read_video, write_video


def mmagic_configs() -> Path:
    import mmagic

    return Path(mmagic.__file__).parent / '.mim' / 'configs' / 'real_basicvsr'


@pytest.fixture
def server(serve, tmp_path, monkeypatch):
    """A loopback server over a folder ``weights/``; yields (folder, base URL, request paths)."""
    folder = tmp_path / 'www' / 'weights'
    folder.mkdir(parents=True)
    url, requests = serve(folder.parent)
    base = f'{url}weights/'
    monkeypatch.setenv(zoo.BASE_URL_ENV, base)
    monkeypatch.setenv('REALBASICVSR_PLUGIN_CACHE', str(tmp_path / 'cache'))
    return folder, base, requests


#: A toy architecture for the tests of download and caching (the paper's is tested once).
TINY = dict(PAPER_GENERATOR, mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1)


def mmagic_layout_checkpoint(path: Path, architecture: dict):
    """A checkpoint in MMagic's layout (random weights); returns (path, network)."""
    torch.manual_seed(3)
    net = build_generator(architecture)
    torch.save({'state_dict': {f'generator_ema.{k}': v for k, v in net.state_dict().items()},
                'meta': {'mmedit_version': '0.14.0'}}, path)
    return path, net


@pytest.fixture(scope='module')
def paper_checkpoint(tmp_path_factory):
    """A checkpoint of the paper's architecture in MMagic's layout."""
    return mmagic_layout_checkpoint(tmp_path_factory.mktemp('ckpt') / 'paper.pth',
                                    PAPER_GENERATOR)


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """The same with the toy architecture."""
    return mmagic_layout_checkpoint(tmp_path_factory.mktemp('ckpt') / 'tiny.pth', TINY)


def serve_as(folder: Path, checkpoint: Path, name: str) -> str:
    """Put the checkpoint in the served folder under ``name``; returns its sha256."""
    data = checkpoint.read_bytes()
    (folder / name).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def rename_entry(monkeypatch, name: str, file_name: str, tiny: bool = True) -> None:
    """Give a registry entry the name of a served file (and the toy architecture)."""
    entry = zoo.OFFICIAL_MODELS[name]
    changes = dict(file_name=file_name)
    if tiny:
        changes['architecture'] = TINY
    monkeypatch.setitem(zoo.OFFICIAL_MODELS, name, dataclasses.replace(entry, **changes))


def serve_for_entry(monkeypatch, folder: Path, checkpoint: Path, name: str, stem: str,
                    tiny: bool = True) -> str:
    """Serve the checkpoint as ``<stem>-<sha256 prefix>.pth``, OpenMMLab's naming, and make it
    the file of registry entry ``name``; returns the file name."""
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    file_name = f'{stem}-{digest[:8]}.pth'
    serve_as(folder, checkpoint, file_name)
    rename_entry(monkeypatch, name, file_name, tiny)
    return file_name


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_names_are_mmagics_released_checkpoints():
    meta = yaml.safe_load((mmagic_configs() / 'metafile.yml').read_text())
    published = {m['Name']: m['Weights'] for m in meta['Models']}
    assert len(zoo.OFFICIAL_MODELS) == 2
    for entry in zoo.OFFICIAL_MODELS.values():
        assert entry.url(zoo.OFFICIAL_BASE_URL) == published[entry.mmagic_name]
        assert entry.sha256_prefix == entry.file_name.rsplit('-', 1)[1].split('.')[0]
    assert zoo.OFFICIAL_MODELS['realbasicvsr'].sha256_prefix == '52f77c2c'
    assert zoo.OFFICIAL_MODELS['realbasicvsr_wogan'].sha256_prefix == '0e2ff207'


@pytest.mark.parametrize('name,config,theta', [
    ('realbasicvsr', 'realbasicvsr_c64b20-1x30x8_8xb1-lr5e-5-150k_reds.py', 5.0),
    ('realbasicvsr_wogan', 'realbasicvsr_wogan-c64b20-2x30x8_8xb2-lr1e-4-300k_reds.py', 1.5),
])
def test_architecture_is_mmagics_and_threshold_the_papers(name, config, theta):
    text = (mmagic_configs() / config).read_text()
    generator = zoo.OFFICIAL_MODELS[name].generator()
    assert generator['dynamic_refine_thres'] == theta
    # MMagic's config: the same network, with the training threshold 255 and a note for testing
    note = re.search(r'dynamic_refine_thres=255,\s*# change to ([\d.]+) for test', text)
    assert note and float(note.group(1)) == theta
    for key in ('mid_channels', 'num_propagation_blocks', 'num_cleaning_blocks',
                'is_fix_cleaning', 'is_sequential_cleaning'):
        assert f'{key}={generator[key]}' in text.replace(' ', '')


def test_downloaded_once_verified_cached_and_loaded_with_its_threshold(
        server, tiny_checkpoint, monkeypatch, tmp_path):
    folder, base, requests = server
    checkpoint, expected = tiny_checkpoint
    for name, theta in (('realbasicvsr', 5.0), ('realbasicvsr_wogan', 1.5)):
        file_name = serve_for_entry(monkeypatch, folder, checkpoint, name,
                                    f'{name}_weights_20211104')
        net, cfg = load_model(model_name=name)
        assert cfg is None and net.dynamic_refine_thres == theta and net.max_passes == 3
        assert same_weights(net, expected)
        cached = tmp_path / 'cache' / 'checkpoints' / file_name
        assert cached.read_bytes() == checkpoint.read_bytes()
        load_model(model_name=name)  # a second time: from the cache
        assert requests.count(f'/weights/{file_name}') == 1
    assert not list((tmp_path / 'cache').rglob('*.partial'))


def test_a_file_that_does_not_match_its_name_is_refused_and_not_kept(
        server, tiny_checkpoint, tmp_path):
    folder, base, requests = server
    checkpoint, _ = tiny_checkpoint
    official = zoo.OFFICIAL_MODELS['realbasicvsr'].file_name  # ...-52f77c2c.pth
    serve_as(folder, checkpoint, official)
    with pytest.raises(InferenceError, match='checksum mismatch.*52f77c2c'):
        load_model(model_name='realbasicvsr')
    assert requests == [f'/weights/{official}']
    cache = tmp_path / 'cache'
    assert not [p for p in cache.rglob('*') if p.is_file()]


def test_the_released_layout_loads_into_the_papers_architecture(server, paper_checkpoint,
                                                                monkeypatch):
    folder, base, requests = server
    checkpoint, expected = paper_checkpoint
    serve_for_entry(monkeypatch, folder, checkpoint, 'realbasicvsr', 'realbasicvsr_c64b20',
                    tiny=False)
    net, _ = load_model(model_name='realbasicvsr')  # strict: every key and shape must fit
    assert same_weights(net, expected) and net.dynamic_refine_thres == 5.0
    assert sum(p.numel() for p in net.parameters()) > 6_000_000  # the paper's 6.3 M


def test_a_damaged_cached_file_is_fetched_again(server, tiny_checkpoint, monkeypatch,
                                                tmp_path):
    folder, base, requests = server
    checkpoint, expected = tiny_checkpoint
    file_name = serve_for_entry(monkeypatch, folder, checkpoint, 'realbasicvsr', 'realbasicvsr_x')
    cached = tmp_path / 'cache' / 'checkpoints' / file_name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(checkpoint.read_bytes()[:1000])  # e.g. a copy cut short
    net, _ = load_model(model_name='realbasicvsr')
    assert same_weights(net, expected) and len(requests) == 1
    assert cached.read_bytes() == checkpoint.read_bytes()


def test_unknown_name_lists_the_known_ones(capsys, tmp_path):
    with pytest.raises(InferenceError, match="'nope'.*realbasicvsr, realbasicvsr_wogan"):
        load_model(model_name='nope')
    clip = write_video(tmp_path / 'clip.mp4', moving_frames(2, 16, 16))
    code = main([str(clip), str(tmp_path / 'out.mp4'), '--model', 'nope'])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("realbasicvsr: error: --model 'nope'")
    assert 'realbasicvsr, realbasicvsr_wogan' in err[0]
    assert not (tmp_path / 'out.mp4').exists()


def test_model_and_checkpoint_together_are_refused(tmp_path):
    with pytest.raises(InferenceError, match='either'):
        load_model(checkpoint=str(tmp_path / 'x.pth'), model_name='realbasicvsr')


def test_list_models(capsys):
    assert main(['--list-models']) == 0
    out = capsys.readouterr().out
    for entry in zoo.OFFICIAL_MODELS.values():
        assert entry.name in out and entry.url() in out
    assert 'theta 5' in out and 'theta 1.5' in out


def test_model_by_name_on_the_command_line(server, tiny_checkpoint, monkeypatch, tmp_path,
                                           capsys):
    folder, base, requests = server
    checkpoint, _ = tiny_checkpoint
    serve_for_entry(monkeypatch, folder, checkpoint, 'realbasicvsr', 'realbasicvsr_c64b20')
    clip = write_video(tmp_path / 'clip.mp4', moving_frames(3, 16, 16))
    out = tmp_path / 'out.mp4'
    code = main([str(clip), str(out), '--model', 'realbasicvsr', '--no-progress'])
    assert code == 0, capsys.readouterr().err
    assert read_video(out).shape == (3, 64, 64, 3)
