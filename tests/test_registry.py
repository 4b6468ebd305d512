"""Scoped registries: the plugin's components are found; MMagic's registrations stay MMagic's."""
import subprocess
import sys
import textwrap

from conftest import REPO


def run_python(code: str) -> str:
    out = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_importing_the_plugin_leaves_every_mmagic_registration_as_it_was():
    # in a fresh interpreter: snapshot MMagic's registries, import the plugin, compare
    out = run_python('''
        import mmagic.models, mmagic.datasets, mmagic.engine, mmagic.evaluation  # noqa
        from mmagic import registry as R
        names = ['MODELS', 'TRANSFORMS', 'DATASETS', 'HOOKS', 'METRICS']
        before = {n: dict(getattr(R, n).module_dict) for n in names}
        net_before = R.MODELS.get('RealBasicVSRNet')
        import realbasicvsr_plugin
        import realbasicvsr_plugin.registry as P
        for n in names:  # make the plugin's registries import all their modules
            getattr(P, n).import_from_location()
        after = {n: dict(getattr(R, n).module_dict) for n in names}
        assert before == after, [n for n in names if before[n] != after[n]]
        assert R.MODELS.get('RealBasicVSRNet') is net_before
        assert net_before.__module__.startswith('mmagic.')
        assert P.MODELS.get('RealBasicVSRNet').__module__.startswith('realbasicvsr_plugin.')
        print('unchanged', sum(len(v) for v in after.values()))
    ''')
    assert out.startswith('unchanged')


def test_plain_name_resolves_in_plugin_scope_then_falls_back_to_mmagic():
    out = run_python('''
        import realbasicvsr_plugin  # noqa
        from mmengine.registry import init_default_scope, MODELS as ROOT
        from mmagic.registry import MODELS as MM
        init_default_scope('realbasicvsr_plugin')
        net = ROOT.build(dict(type='RealBasicVSRNet', mid_channels=4, num_propagation_blocks=1,
                              num_cleaning_blocks=1))
        assert type(net).__module__.startswith('realbasicvsr_plugin'), type(net)
        # a name only MMagic has is still found from the plugin's scope
        disc = ROOT.build(dict(type='UNetDiscriminatorWithSpectralNorm', in_channels=3,
                               mid_channels=4))
        assert type(disc).__module__.startswith('mmagic'), type(disc)
        # from MMagic's own scope, the prefixed name reaches the plugin; the plain one MMagic
        init_default_scope('mmagic')
        a = MM.build(dict(type='realbasicvsr_plugin.RealBasicVSRNet', mid_channels=4,
                          num_propagation_blocks=1, num_cleaning_blocks=1))
        b = MM.build(dict(type='RealBasicVSRNet', mid_channels=4, num_propagation_blocks=1,
                          num_cleaning_blocks=1))
        assert type(a).__module__.startswith('realbasicvsr_plugin'), type(a)
        assert type(b).__module__.startswith('mmagic'), type(b)
        print('ok')
    ''')
    assert out.strip() == 'ok'


def test_scope_alone_registers_the_components():
    # MMEngine imports `<scope>.registry` and the registries import their locations
    out = run_python('''
        from mmengine.registry import init_default_scope, MODELS, HOOKS
        init_default_scope('realbasicvsr_plugin')
        hook = HOOKS.build(dict(type='DynamicRefinementHook', dynamic_refine_thres=5))
        net = MODELS.build(dict(type='RealBasicVSRNet', mid_channels=4, num_propagation_blocks=1,
                                num_cleaning_blocks=1))
        print(type(hook).__module__, type(net).__module__)
    ''')
    assert out.split() == ['realbasicvsr_plugin.engine.hooks.dynamic_refinement_hook',
                           'realbasicvsr_plugin.models.realbasicvsr_net']


def test_version_is_exposed():
    import realbasicvsr_plugin
    from importlib.metadata import version
    assert realbasicvsr_plugin.__version__ == version('realbasicvsr_plugin')
