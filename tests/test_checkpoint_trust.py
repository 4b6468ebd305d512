"""A checkpoint that needs full unpickling is refused at every level unless trusted, and a corrupt
file is called corrupt, trusted or not (issue 19, part 6 and the loader mutation)."""
import argparse
import os
from pathlib import Path

import pytest
import torch

from realbasicvsr_plugin.apis import InferenceError, load_model, super_resolve
from realbasicvsr_plugin.apis.cli import main
from realbasicvsr_plugin.models.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                                   load_state_dict_file)
from test_inference_utils import TINY_CONFIG, moving_frames, read_video, tiny_net, write_video


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('ckpt')
    (root / 'config.py').write_text(TINY_CONFIG)
    state = {f'generator_ema.{k}': v for k, v in tiny_net(0).state_dict().items()}
    # a Python object that the weights-only unpickler refuses (harmless, but not allowlisted)
    torch.save({'state_dict': state, 'meta': {'args': argparse.Namespace(lr=1)}},
               root / 'needs_pickle.pth')
    (root / 'random.pth').write_bytes(os.urandom(4096))
    # a pickle header with a protocol no Python has (random bytes that start with 0x80 are this)
    (root / 'bad_protocol.pth').write_bytes(b'\x80\xc2' + os.urandom(4094))
    good = root / 'good.pth'
    torch.save({'state_dict': state}, good)
    (root / 'truncated.pth').write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    write_video(root / 'clip.mp4', moving_frames(t=2))
    return root


def test_random_bytes_are_corrupt_not_unsafe_trusted_or_not(files):
    for trust in (False, True):
        for name in ('random.pth', 'bad_protocol.pth', 'truncated.pth'):
            with pytest.raises(CheckpointError) as info:
                load_state_dict_file(files / name, trust_checkpoint=trust)
            assert not isinstance(info.value, UnsafeCheckpointError), info.value
            assert 'corrupt' in str(info.value) and 'trust' not in str(info.value)


def test_a_python_object_is_unsafe_and_named(files):
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace') as info:
        load_state_dict_file(files / 'needs_pickle.pth')
    assert 'trust_checkpoint=True' in str(info.value) and '--' not in str(info.value)
    assert load_state_dict_file(files / 'needs_pickle.pth', trust_checkpoint=True)['meta']


def test_load_model_refuses_unless_trusted(files):
    with pytest.raises(InferenceError, match='argparse.Namespace') as info:
        load_model(files / 'config.py', str(files / 'needs_pickle.pth'))
    assert info.value.param == 'trust_checkpoint'
    net, _ = load_model(files / 'config.py', str(files / 'needs_pickle.pth'),
                        trust_checkpoint=True)
    reference = tiny_net(0)
    for key, value in reference.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key


def test_super_resolve_refuses_unless_trusted(files, tmp_path):
    out = tmp_path / 'o.mp4'
    with pytest.raises(InferenceError, match='trust_checkpoint=True'):
        super_resolve(files / 'clip.mp4', out, config=files / 'config.py',
                      checkpoint=str(files / 'needs_pickle.pth'))
    assert os.listdir(tmp_path) == []
    super_resolve(files / 'clip.mp4', out, config=files / 'config.py',
                  checkpoint=str(files / 'needs_pickle.pth'), trust_checkpoint=True)
    assert len(read_video(out)) == 2


def _cli(files: Path, out: Path, checkpoint: str, *extra):
    return main([str(files / 'clip.mp4'), str(out), '--config', str(files / 'config.py'),
                 '--checkpoint', str(files / checkpoint), '--no-progress', *extra])


def test_the_command_refuses_unless_trusted(files, tmp_path, capsys):
    assert _cli(files, tmp_path / 'o.mp4', 'needs_pickle.pth') == 1
    err = capsys.readouterr().err
    assert '--trust-checkpoint' in err and 'trust_checkpoint' not in err
    assert os.listdir(tmp_path) == []
    assert _cli(files, tmp_path / 'o.mp4', 'needs_pickle.pth', '--trust-checkpoint') == 0


def test_the_command_calls_random_bytes_corrupt_even_when_trusted(files, tmp_path, capsys):
    for extra in ((), ('--trust-checkpoint',)):
        assert _cli(files, tmp_path / 'o.mp4', 'random.pth', *extra) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and 'random.pth' in err and 'corrupt' in err, err
        assert 'refusing' not in err and 'trust' not in err, err
