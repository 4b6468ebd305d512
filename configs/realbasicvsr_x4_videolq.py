# RealBasicVSR x4 on VideoLQ (paper Table 2): NIQE and BRISQUE of every output frame, averaged
# per video and over the videos, with the plugin's metrics (faithful to the official releases).
#
#   mim test mmagic configs/realbasicvsr_x4_videolq.py --checkpoint <checkpoint.pth>
#
# Data: data/VideoLQ/<video>/<frame>.png (any frame names; sorted). No ground truth is needed.
# BRISQUE's model files are fetched at run time; offline, set REALBASICVSR_PLUGIN_BRISQUE_DIR to
# a folder holding the official `allmodel` and `allrange` (see docs/evaluation.md).
# The plain script scripts/evaluate_videolq.py does the same with a bicubic baseline row,
# JSON/CSV files and side-by-side images.
_base_ = ['./_base_/default_runtime.py', './_base_/realbasicvsr_x4_model.py']

experiment_name = 'realbasicvsr_x4_videolq'
work_dir = f'./work_dirs/{experiment_name}'
data_root = 'data/VideoLQ'

model = dict(data_preprocessor=dict(data_keys=None))  # VideoLQ has no ground truth

test_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='PackInputs'),
]

test_dataloader = dict(
    num_workers=1,
    batch_size=1,  # one whole video per sample
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='BasicFramesDataset',
        metainfo=dict(dataset_type='video_lq', task_name='vsr'),
        data_root=data_root,
        data_prefix=dict(img=''),
        depth=1,  # one folder per video
        load_frames_list=dict(img=['all']),  # every frame of the folder, sorted by name
        pipeline=test_pipeline))

# Official-release settings: gray conversion (MATLAB rgb2gray), no border crop, every frame.
# For PIRM-style numbers use convert_to='y'; for a quick look frames='first_middle_last'.
_metric_cfg = dict(crop_border=0, convert_to='gray', frames='all', report_per_video=True)
test_evaluator = dict(
    type='Evaluator',
    metrics=[dict(type='NIQE', **_metric_cfg),
             dict(type='BRISQUE', **_metric_cfg)])
test_cfg = dict(type='MultiTestLoop')  # MMagic's test loop, with MMagic's Evaluator

custom_hooks = [
    # Eq. 5 at test time: theta = 5 for the GAN-trained model (1.5 for the model without GAN).
    dict(type='DynamicRefinementHook', dynamic_refine_thres=5, max_passes=3),
]
default_hooks = dict(logger=dict(interval=1))
env_cfg = dict(mp_cfg=dict(opencv_num_threads=1))
log_processor = dict(window_size=1)
