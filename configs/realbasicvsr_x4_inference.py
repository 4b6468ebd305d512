# Inference with RealBasicVSR x4 (the paper's architecture: 64 channels, 20 cleaning blocks,
# 20 propagation blocks per direction), for
#   * the plugin's streaming command:  realbasicvsr in.mp4 out.mp4 --config <this> --checkpoint X
#   * MMagic's own inferencer and demo:
#       python mmagic/.mim/demo/mmagic_inference_demo.py --model-name real_basicvsr \
#           --model-config <this> --model-ckpt X --video in.mp4 --result-out-dir out.mp4
#
# MMagic's inferencer builds the model under MMagic's scope ('mmagic') whatever default_scope says,
# so the plugin's classes are named with their scope ('realbasicvsr_plugin.RealBasicVSRNet'):
# the names then resolve to the plugin under either scope, and MMEngine imports the plugin's
# registry on first use (no custom_imports needed).
default_scope = 'realbasicvsr_plugin'

scale = 4

model = dict(
    type='realbasicvsr_plugin.RealBasicVSR',
    generator=dict(
        type='realbasicvsr_plugin.RealBasicVSRNet',
        mid_channels=64,
        num_propagation_blocks=20,
        num_cleaning_blocks=20,
        # theta of the paper's Eq. 5 for testing (0-255 scale): 5 for the GAN-trained model,
        # 1.5 for the model trained without GAN (255 during training)
        dynamic_refine_thres=5,
        max_passes=3,
        spynet_pretrained=None,
        is_fix_cleaning=False,
        is_sequential_cleaning=False,
        scale=scale),
    # not used for inference, but MMagic's editor requires a pixel loss to be built
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    is_use_ema=True,
    data_preprocessor=dict(
        type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))

# MMagic's video inferencer drops the two loading steps for a video file and keeps the rest.
test_pipeline = [
    dict(type='GenerateSegmentIndices', interval_list=[1]),
    dict(
        type='LoadImageFromFile',
        key='img',
        channel_order='rgb',
        imdecode_backend='pillow'),
    dict(type='PackInputs')
]
demo_pipeline = test_pipeline

# Streaming settings of the plugin's command line (its options override them).
inference_cfg = dict(max_seq_len='auto', overlap=4, tile='auto', tile_overlap=16)
