# Inference with RealBasicVSR x4 (the paper's architecture: 64 channels, 20 cleaning blocks,
# 20 propagation blocks per direction), for
#   * the plugin's streaming command:  realbasicvsr in.mp4 out.mp4 --config <this> --checkpoint X
#   * MMagic's own inferencer and demo:
#       python mmagic/.mim/demo/mmagic_inference_demo.py --model-name real_basicvsr \
#           --model-config <this> --model-ckpt X --video in.mp4 --result-out-dir out.mp4
#
# The model is the paper's (configs/_base_/realbasicvsr_x4_model.py), with theta = 5 for the
# GAN-trained model; for the model trained without GAN, inherit this config and set
# model = dict(generator=dict(dynamic_refine_thres=1.5)).
_base_ = './_base_/realbasicvsr_x4_model.py'
default_scope = 'realbasicvsr_plugin'

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
