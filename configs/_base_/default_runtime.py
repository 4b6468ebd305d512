# Runtime shared by every RealBasicVSR config of the plugin.
# Plain component names resolve in the plugin's scope first, then MMagic's, then MMEngine's.
default_scope = 'realbasicvsr_plugin'
custom_imports = dict(imports=['realbasicvsr_plugin'], allow_failed_imports=False)

save_dir = './work_dirs'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        interval=5000,
        by_epoch=False,
        max_keep_ckpts=10,
        save_optimizer=True,
        save_best='PSNR',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # on a machine without CUDA the plugin runs the distributed launchers with gloo instead
    dist_cfg=dict(backend='nccl'),
)

# The degradations draw from NumPy's global generator. MMEngine seeds every data-loader worker
# with its own seed (num_workers * rank + worker_id + seed); diff_rank_seed adds the rank to the
# seed of each process as well, so that ranks loading in the main process (num_workers=0) do not
# draw the same degradations either. The samplers stay in step (their seed is shared).
randomness = dict(seed=None, diff_rank_seed=True)

log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)

load_from = None
resume = False

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='ConcatImageVisualizer',
    vis_backends=vis_backends,
    fn_key='gt_path',
    img_keys=['gt_img', 'input', 'pred_img'],
    bgr2rgb=True)

# MMEngine's launchers (`mim train ... --launcher pytorch|slurm`) wrap the editor in this: one
# DistributedDataParallel per trained submodule (generator, discriminator), as GAN training needs.
# Under the plugin's scope the name is the plugin's subclass, which also runs on CPU processes.
# No parameter goes unused: frozen parts (SPyNet, the cleaning module in stage 2) have
# requires_grad=False, which DistributedDataParallel leaves out.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
