# The demo model's inference config (written by scripts/export_demo_model.py).
# Trained with configs/realbasicvsr_demo.py; see docs/demo_model.md. A demo, not the official
# RealBasicVSR weights.
default_scope = 'realbasicvsr_plugin'

model = dict(
    type='realbasicvsr_plugin.RealBasicVSR',
    generator=dict(
        type='realbasicvsr_plugin.RealBasicVSRNet',
        mid_channels=32,
        num_propagation_blocks=4,
        num_cleaning_blocks=4,
        dynamic_refine_thres=5.0,
        max_passes=3,
        scale=4,
        spynet_pretrained=None,
        is_fix_cleaning=False,
        is_sequential_cleaning=False,
        is_fix_spynet=False,
        min_size=32),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    is_use_ema=True,
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))

# for MMagic's own inferencer (mmagic_inference_demo.py --model-config this file)
test_pipeline = [
    dict(type='GenerateSegmentIndices', interval_list=[1]),
    dict(type='LoadImageFromFile', key='img', channel_order='rgb', imdecode_backend='pillow'),
    dict(type='PackInputs')
]
demo_pipeline = test_pipeline

inference_cfg = dict(max_seq_len='auto', overlap=4, tile='auto', tile_overlap=16)
