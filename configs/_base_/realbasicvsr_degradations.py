# Training pipeline of the paper: load L/2 frames -> augment -> mirror in time to L -> unsharp-masked
# GT -> second-order degradations whose parameters random-walk from frame to frame (the `*_step`
# values are the walk's step sizes) -> random video compression -> pack.
# Component names and arguments are MMagic's; under the plugin's scope they resolve to the plugin's
# transforms (RandomVideoCompression works on current PyAV; the walk is per frame).
#
# `degradations` below is the one written list of the paper's degradation settings: the stage
# configs use it through `train_pipeline`, and `realbasicvsr_degradation_cfgs()` (behind the
# `RealBasicVSRDegradations` transform) reads it from this file.
scale = 4
gt_patch_size = 256  # 64x64 LR patches at x4

_blur_kernels = [
    'iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso', 'sinc'
]
_blur_kernel_prob = [0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1]
_kernel_sizes = [7, 9, 11, 13, 15, 17, 19, 21]
_resize_opt = ['bilinear', 'area', 'bicubic']
# what the first and second orders share; each entry below adds its own ranges
_blur = dict(
    kernel_size=_kernel_sizes,
    kernel_list=_blur_kernels,
    kernel_prob=_blur_kernel_prob,
    rotate_angle=[-3.1416, 3.1416],
    beta_gaussian=[0.5, 4],
    beta_plateau=[1, 2],
    sigma_x_step=0.02,
    sigma_y_step=0.02,
    rotate_angle_step=0.31416,
    beta_gaussian_step=0.05,
    beta_plateau_step=0.1,
    omega_step=0.0628)
_resize = dict(resize_opt=_resize_opt, resize_prob=[1 / 3., 1 / 3., 1 / 3.], is_size_even=True)
_noise = dict(
    noise_type=['gaussian', 'poisson'],
    noise_prob=[0.5, 0.5],
    gaussian_gray_noise_prob=0.4,
    poisson_gray_noise_prob=0.4,
    gaussian_sigma_step=0.1,
    poisson_scale_step=0.005)
# frames are RGB here; OpenCV's JPEG codec expects BGR
_jpeg = dict(type='RandomJPEGCompression', params=dict(quality=[30, 95], quality_step=3),
             keys=['img'], bgr2rgb=True)
_video_compression = dict(
    type='RandomVideoCompression',
    params=dict(
        codec=['libx264', 'h264', 'mpeg4'],
        codec_prob=[1 / 3., 1 / 3., 1 / 3.],
        bitrate=[1e4, 1e5]),
    keys=['img'],
    channel_order='rgb')

degradations = [
    # first order
    dict(type='RandomBlur', params=dict(_blur, sigma_x=[0.2, 3], sigma_y=[0.2, 3]), keys=['img']),
    dict(type='RandomResize',
         params=dict(_resize, resize_mode_prob=[0.2, 0.7, 0.1],  # up, down, keep
                     resize_scale=[0.15, 1.5], resize_step=0.015),
         keys=['img']),
    # channel_order: the luma weights of gray Poisson noise
    dict(type='RandomNoise', params=dict(_noise, gaussian_sigma=[1, 30], poisson_scale=[0.05, 3]),
         keys=['img'], channel_order='rgb'),
    _jpeg,
    _video_compression,
    # second order
    dict(type='RandomBlur', params=dict(_blur, prob=0.8, sigma_x=[0.2, 1.5], sigma_y=[0.2, 1.5]),
         keys=['img']),
    dict(type='RandomResize',
         params=dict(_resize, resize_mode_prob=[0.3, 0.4, 0.3],  # up, down, keep
                     resize_scale=[0.3, 1.2], resize_step=0.03),
         keys=['img']),
    dict(type='RandomNoise',
         params=dict(_noise, gaussian_sigma=[1, 25], poisson_scale=[0.05, 2.5]),
         keys=['img'], channel_order='rgb'),
    _jpeg,
    # Real-ESRGAN's last stage in random order: video compression, and (resize to the LR size,
    # sinc blur)
    dict(
        type='DegradationsWithShuffle',
        degradations=[
            _video_compression,
            [
                dict(
                    type='RandomResize',
                    params=dict(
                        target_size=(gt_patch_size // scale, gt_patch_size // scale),
                        resize_opt=_resize_opt,
                        resize_prob=[1 / 3., 1 / 3., 1 / 3.])),
                dict(
                    type='RandomBlur',
                    params=dict(
                        prob=0.8,
                        kernel_size=_kernel_sizes,
                        kernel_list=['sinc'],
                        kernel_prob=[1],
                        omega=[3.1416 / 3, 3.1416],
                        omega_step=0.0628)),
            ],
        ],
        keys=['img']),
]

# The steps around the degradations, in parts that a config with another patch size or another
# degradation step takes over (configs/realbasicvsr_demo.py): load L/2 frames, crop the GT patch,
# augment, mirror in time to L, unsharp-mask (the LQ `img` to degrade starts as the sharpened GT);
# after the degradations, clip and pack.
load_steps = [
    dict(type='GenerateSegmentIndices', interval_list=[1]),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='SetValues', dictionary=dict(scale=scale)),
]
gt_crop = dict(type='FixedCrop', keys=['gt'], crop_size=(gt_patch_size, gt_patch_size))
gt_steps = [
    dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['gt'], transpose_ratio=0.5),
    # stochastic degradation scheme: the dataset loads L/2 frames, mirrored here to L
    dict(type='MirrorSequence', keys=['gt']),
    dict(type='UnsharpMasking', keys=['gt'], kernel_size=51, sigma=0, weight=0.5, threshold=10),
    dict(type='CopyValues', src_keys=['gt_unsharp'], dst_keys=['img']),
]
pack_steps = [
    dict(type='Clip', keys=['img']),
    dict(type='PackInputs'),
]

train_pipeline = load_steps + [gt_crop] + gt_steps + degradations + pack_steps
