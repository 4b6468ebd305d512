"""One loader for MMagic's released layout, bare state dicts and the plugin's own; safe unpickling."""
import hashlib
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from realbasicvsr_plugin.models import (CheckpointError, RealBasicVSRNet,
                                        UnsafeCheckpointError, load_checkpoint)

from conftest import TINY_NET


def mmagic_layout(gen_sd, ema_sd):
    """What MMagic's released RealBasicVSR checkpoints look like (plus typical metadata)."""
    state = OrderedDict()
    state.update({f'generator.{k}': v for k, v in gen_sd.items()})
    state.update({f'generator_ema.{k}': v for k, v in ema_sd.items()})
    state['discriminator.conv0.weight'] = torch.zeros(1)
    meta = dict(mmedit_version='0.14.0', time='Mon Feb 28 2022', epoch=0, iter=300000,
                hook_msgs=dict(best_score=np.float64(27.5)), seed=np.int64(0),
                history=np.arange(3), message_hub=dict(log_scalars=dict(
                    loss=HistoryBuffer([1.0, 0.5], [1, 1]))))
    return dict(meta=meta, state_dict=state)


def fresh(seed, **kwargs):
    torch.manual_seed(seed)
    return RealBasicVSRNet(**{**TINY_NET, **kwargs})


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values()))


def test_mmagic_layout_loads_strictly_and_prefers_ema(tmp_path):
    gen, ema, target = fresh(1), fresh(2), fresh(3)
    path = tmp_path / 'realbasicvsr_mmagic.pth'
    torch.save(mmagic_layout(gen.state_dict(), ema.state_dict()), path)
    ckpt = load_checkpoint(target, path)
    assert same_weights(target, ema)
    assert ckpt['meta']['iter'] == 300000
    load_checkpoint(target, path, prefer_ema=False)
    assert same_weights(target, gen)


def test_bare_and_ddp_prefixed_state_dicts_load(tmp_path):
    src, target = fresh(1), fresh(2)
    torch.save(src.state_dict(), tmp_path / 'bare.pth')
    load_checkpoint(target, tmp_path / 'bare.pth')
    assert same_weights(target, src)
    torch.save({'state_dict': {f'module.{k}': v for k, v in src.state_dict().items()}},
               tmp_path / 'ddp.pth')
    target = fresh(3)
    load_checkpoint(target, tmp_path / 'ddp.pth')
    assert same_weights(target, src)


def test_other_architecture_gets_one_readable_key_report(tmp_path):
    torch.save(fresh(1, mid_channels=16).state_dict(), tmp_path / 'wide.pth')
    with pytest.raises(CheckpointError, match=r'shape mismatches \(\d+\).*image_cleaning'):
        load_checkpoint(fresh(2), tmp_path / 'wide.pth')
    torch.save(torch.nn.Conv2d(3, 3, 3).state_dict(), tmp_path / 'conv.pth')
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(fresh(2), tmp_path / 'conv.pth')
    text = str(err.value)
    assert 'missing keys' in text and 'unexpected keys (2): weight, bias' in text
    assert '... and' in text  # long lists are shortened, not dumped


class Payload:
    """Not a type any checkpoint needs: unpickling it must be refused."""


def test_unsafe_pickle_is_refused_with_a_way_to_override(tmp_path):
    path = tmp_path / 'odd.pth'
    torch.save({'state_dict': fresh(1).state_dict(), 'extra': Payload()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'Payload.*trust_checkpoint=True'):
        load_checkpoint(fresh(2), path)
    load_checkpoint(fresh(2), path, trust_checkpoint=True)


def test_missing_and_truncated_files(tmp_path):
    with pytest.raises(CheckpointError, match='not found: .*nothing.pth'):
        load_checkpoint(fresh(1), tmp_path / 'nothing.pth')
    good = tmp_path / 'good.pth'
    torch.save(fresh(1).state_dict(), good)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match='cut.pth'):
        load_checkpoint(fresh(1), cut)


@pytest.fixture
def served(tmp_path, serve):
    """conftest's loopback server over a fresh folder; yields (folder, base_url, request_log)."""
    root = tmp_path / 'www'
    root.mkdir()
    base, log = serve(root)
    return root, base.rstrip('/'), log


def test_url_is_downloaded_once_verified_and_cached(served, tmp_path, monkeypatch):
    root, base, log = served
    monkeypatch.setenv('REALBASICVSR_PLUGIN_CACHE', str(tmp_path / 'cache'))
    src = fresh(1)
    torch.save(src.state_dict(), root / 'demo.pth')
    digest = hashlib.sha256((root / 'demo.pth').read_bytes()).hexdigest()
    target = fresh(2)
    load_checkpoint(target, f'{base}/demo.pth', sha256=digest)
    assert same_weights(target, src) and (tmp_path / 'cache' / 'checkpoints' / 'demo.pth').is_file()
    load_checkpoint(fresh(3), f'{base}/demo.pth', sha256=digest)
    assert len(log) == 1  # second time from the cache


def test_checksum_mismatch_leaves_nothing_in_the_cache(served, tmp_path, monkeypatch):
    root, base, _ = served
    monkeypatch.setenv('REALBASICVSR_PLUGIN_CACHE', str(tmp_path / 'cache'))
    torch.save(fresh(1).state_dict(), root / 'demo.pth')
    with pytest.raises(CheckpointError, match='checksum mismatch'):
        load_checkpoint(fresh(2), f'{base}/demo.pth', sha256='0' * 64)
    assert not any((tmp_path / 'cache' / 'checkpoints').iterdir())
    # torch.hub's convention: the hex after the last '-' of the name is a sha256 prefix
    (root / 'demo-deadbeef.pth').write_bytes((root / 'demo.pth').read_bytes())
    with pytest.raises(CheckpointError, match='expected sha256 deadbeef'):
        load_checkpoint(fresh(2), f'{base}/demo-deadbeef.pth')


def test_unreachable_url_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv('REALBASICVSR_PLUGIN_CACHE', str(tmp_path / 'cache'))
    with pytest.raises(CheckpointError, match='cannot download checkpoint http://127.0.0.1:9/'):
        load_checkpoint(fresh(1), 'http://127.0.0.1:9/x.pth')


def test_spynet_pretrained_loads_through_the_same_loader(served, tmp_path, monkeypatch):
    root, base, _ = served
    monkeypatch.setenv('REALBASICVSR_PLUGIN_CACHE', str(tmp_path / 'cache'))
    spynet = fresh(5).basicvsr.spynet
    torch.save({'state_dict': spynet.state_dict()}, root / 'spynet.pth')
    digest = hashlib.sha256((root / 'spynet.pth').read_bytes()).hexdigest()
    # named as MMagic names its files: spynet_<date>-<sha256 prefix>.pth, verified on download
    (root / 'spynet.pth').rename(root / f'spynet_20210409-{digest[:8]}.pth')
    net = fresh(6, spynet_pretrained=f'{base}/spynet_20210409-{digest[:8]}.pth')
    assert same_weights(net.basicvsr.spynet, spynet)


def test_loading_keeps_the_allowlist_registered_for_mmengine(tmp_path):
    # MMEngine resumes with a bare torch.load: the plugin's allowlist must survive its own loads
    torch.save(fresh(1).state_dict(), tmp_path / 'a.pth')
    load_checkpoint(fresh(2), tmp_path / 'a.pth')
    torch.save({'message_hub': HistoryBuffer([1.0], [1]), 'x': np.float64(1)}, tmp_path / 'b.pth')
    loaded = torch.load(tmp_path / 'b.pth', weights_only=True)
    assert loaded['message_hub'].current() == 1.0


def test_no_module_but_the_cache_opens_urls():
    """One download path: only ``realbasicvsr_plugin/cache.py`` reaches the network, through
    torch.hub's ``download_url_to_file`` (checked on the code's syntax tree, docstrings aside)."""
    import ast
    from pathlib import Path

    import realbasicvsr_plugin

    modules = {'urllib.request', 'http.client', 'requests', 'urllib3', 'httpx', 'socket'}
    names = {'urlopen', 'urlretrieve', 'download_url_to_file', 'load_state_dict_from_url',
             'load_url', 'HTTPConnection'}

    def network_uses(tree):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                yield from (a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.module in modules:
                    yield node.module
                yield from (a.name for a in node.names if a.name in names)
            elif isinstance(node, ast.Attribute) and node.attr in names:
                yield node.attr
            elif isinstance(node, ast.Name) and node.id in names:
                yield node.id

    root = Path(realbasicvsr_plugin.__file__).parent
    uses = {str(p.relative_to(root)): sorted(set(network_uses(ast.parse(p.read_text()))))
            for p in root.rglob('*.py')}
    assert {k: v for k, v in uses.items() if v and k != 'cache.py'} == {}
    assert uses['cache.py'] == ['download_url_to_file']


def test_vgg_weights_come_from_torchvisions_registry():
    from torchvision.models import VGG19_Weights

    from realbasicvsr_plugin.models.losses.perceptual_loss import vgg_types, vgg_weights_url

    assert vgg_weights_url('vgg19') == VGG19_Weights.IMAGENET1K_V1.url
    assert vgg_weights_url('vgg19').endswith('-dcbb9e9d.pth')  # verified by its name's prefix
    assert {'vgg16', 'vgg19', 'vgg19_bn'} <= set(vgg_types())


def test_vgg_weights_download_through_the_checkpoint_cache(served, tmp_path, monkeypatch):
    """``pretrained='torchvision://vgg19'`` fetches torchvision's file name, verified and cached
    (here from loopback: the URL's folder is replaced, its name kept)."""
    from realbasicvsr_plugin.models.losses import perceptual_loss

    root, base, log = served
    monkeypatch.setenv('REALBASICVSR_PLUGIN_CACHE', str(tmp_path / 'cache'))
    torch.manual_seed(0)
    # the layers that layer '4' needs, as VGG19's features 0..4 (conv, relu, conv, relu, pool)
    features = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(),
                                   torch.nn.Conv2d(64, 64, 3, padding=1))
    torch.save({f'features.{k}': v for k, v in features.state_dict().items()}, root / 'vgg.pth')
    digest = hashlib.sha256((root / 'vgg.pth').read_bytes()).hexdigest()
    name = f'vgg19-{digest[:8]}.pth'
    (root / 'vgg.pth').rename(root / name)
    monkeypatch.setattr(perceptual_loss, 'vgg_weights_url', lambda vgg_type: f'{base}/{name}')
    loss = perceptual_loss.PerceptualLoss(layer_weights={'4': 1.0})
    assert torch.equal(loss.vgg.vgg_layers[2].weight, features[2].weight)
    assert (tmp_path / 'cache' / 'checkpoints' / name).is_file() and len(log) == 1
