# The demo model's inference config (dumped by scripts/export_demo_model.py with
# mmengine.Config) for iter_300.pth of configs/realbasicvsr_demo_stage2.py; see docs/demo_model.md.
# A demo, not the official RealBasicVSR weights.
default_scope = 'realbasicvsr_plugin'
inference_cfg = dict(
    max_seq_len='auto', overlap=4, tile='auto', tile_overlap=16)
model = dict(
    data_preprocessor=dict(
        mean=[
            0.0,
            0.0,
            0.0,
        ],
        std=[
            255.0,
            255.0,
            255.0,
        ],
        type='DataPreprocessor'),
    generator=dict(
        dynamic_refine_thres=5.0,
        is_fix_cleaning=False,
        is_fix_spynet=False,
        is_sequential_cleaning=False,
        max_passes=3,
        mid_channels=32,
        min_size=16,
        num_cleaning_blocks=4,
        num_propagation_blocks=4,
        scale=4,
        spynet_pretrained=None,
        type='realbasicvsr_plugin.RealBasicVSRNet'),
    is_use_ema=True,
    pixel_loss=dict(loss_weight=1.0, reduction='mean', type='L1Loss'),
    type='realbasicvsr_plugin.RealBasicVSR')
test_pipeline = [
    dict(interval_list=[
        1,
    ], type='GenerateSegmentIndices'),
    dict(
        channel_order='rgb',
        imdecode_backend='pillow',
        key='img',
        type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
demo_pipeline = test_pipeline
