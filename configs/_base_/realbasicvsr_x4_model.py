# The RealBasicVSR x4 model of the paper: 64 channels, 20 cleaning blocks, 20 propagation blocks
# per direction (6.3 M parameters), in the editor that trains and tests it. Inference, VideoLQ
# testing and stage-1 training inherit it and change only what differs.
#
# MMagic's inferencer builds the model under MMagic's scope ('mmagic') whatever default_scope says,
# so the plugin's classes are named with their scope: the names resolve to the plugin under either
# scope, and MMEngine imports the plugin's registry on first use.
model = dict(
    type='realbasicvsr_plugin.RealBasicVSR',
    generator=dict(
        type='realbasicvsr_plugin.RealBasicVSRNet',
        mid_channels=64,
        num_propagation_blocks=20,
        num_cleaning_blocks=20,
        # theta of the paper's Eq. 5 on the 0-255 scale: 5 for the GAN-trained model, 1.5 for
        # the model trained without GAN; training runs one pass (None), and the
        # DynamicRefinementHook of the training and testing configs sets the test value
        dynamic_refine_thres=5,
        max_passes=3,
        spynet_pretrained=None,  # checkpoints hold SPyNet's weights; training configs load it
        is_fix_cleaning=False,
        is_sequential_cleaning=False,
        scale=4),
    # training configs set their losses; MMagic's editor needs a pixel loss to be built
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    is_use_ema=True,  # released checkpoints carry generator_ema; the EMA generator is tested
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
