"""The source's audio is written as the video advances, not all at the end."""
import av

from realbasicvsr_plugin.apis import super_resolve
from test_inference_utils import moving_frames, tiny_net, write_video


def test_audio_packets_are_interleaved_with_the_video_in_the_file(tmp_path):
    # 15 s of video at 1 fps: FFmpeg's muxer buffers at most 10 s waiting for the other stream,
    # so audio muxed only at the end would follow the first 10 s of video in the file
    clip = write_video(tmp_path / 'in.mkv', moving_frames(t=15, h=32, w=32), fps=1,
                       audio='aac')
    out = tmp_path / 'out.mkv'
    summary = super_resolve(clip, out, model=tiny_net(), max_seq_len=5, overlap=1)
    assert summary.audio == 'copy'
    with av.open(str(out)) as container:
        packets = [(p.pos, p.stream.type, float(p.pts * p.time_base))
                   for p in container.demux() if p.size and p.pts is not None]
    packets.sort()
    kinds = [kind for _, kind, _ in packets]
    assert kinds.count('audio') > 100 and kinds.count('video') == 15
    first_audio = kinds.index('audio')
    video_before = [t for _, kind, t in packets[:first_audio] if kind == 'video']
    assert not video_before or max(video_before) < 1.0, video_before
    # and throughout: no stretch of more than 3 s of video (3 frames) without audio in between
    last_audio_time, longest = 0.0, 0.0
    for _, kind, t in packets:
        if kind == 'audio':
            last_audio_time = t
        else:
            longest = max(longest, t - last_audio_time)
    assert longest <= 3.0, longest
