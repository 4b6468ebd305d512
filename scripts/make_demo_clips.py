#!/usr/bin/env python
"""Make the video clips that the demo model is trained and evaluated on.

Each clip is a camera move (pan, slow zoom, slight roll) over a still image. The images are real
photographs and renders with licences that allow it, none of them downloaded from a data set
(docs/demo_model.md lists every image and its licence):

* ``skimage:<name>``: the sample images that ship inside scikit-image (the ``demo-data`` extra);
* ``mate:<name>``: the nature photographs of Debian's ``mate-backgrounds`` package (GPL-2+);
* ``ukui:<name>``: the colourful renders of Debian's ``ukui-wallpapers`` package (CC-BY-SA-3.0),
  for saturated colours that the photographs lack.

The two Debian packages are fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x``
into ``--sources`` (nothing is installed). Large photographs are first reduced with area
interpolation so that the short side is at most ``MAX_SHORT_SIDE`` pixels (which also removes
their JPEG artefacts, and gives the detail density of a video frame). Every other clip of a colour
image has its colour channels permuted, so that the model sees every hue at every saturation.
The images are split by name: the demo model never sees the held-out images in training. The
validation clips are new camera moves over the *training* images (one per image, colours kept):
test-time settings such as theta are chosen on them, never on the held-out clips.

    python scripts/make_demo_clips.py --out data/demo   # train/, validation/GT/, heldout/GT/
    python scripts/make_demo_clips.py --out data/demo --heldout-only   # no train/

Layout (``BasicFramesDataset``, depth 1): ``<out>/train/<clip>/00000000.png``,
``<out>/validation/GT/<clip>/00000000.png`` and ``<out>/heldout/GT/<clip>/00000000.png``.
"""
import argparse
import subprocess
from pathlib import Path
from typing import Iterator, List, Tuple

import cv2
import numpy as np
from tqdm import tqdm

SKIMAGE_TRAIN = ['astronaut', 'chelsea', 'hubble_deep_field', 'immunohistochemistry', 'retina',
                 'brick', 'grass', 'gravel', 'camera']
MATE_TRAIN = ['Aqua', 'Blinds', 'Dune', 'FreshFlower', 'Garden', 'GreenMeadow', 'RainDrops',
              'Storm', 'TwoWings', 'Wood', 'YellowFlower']
UKUI_TRAIN = ['2004default', 'calla', 'rhythm', 'string', 'fluent-color', 'the-mouse',
              'firstgeneration']
TRAIN_IMAGES = ([f'skimage:{n}' for n in SKIMAGE_TRAIN] + [f'mate:{n}' for n in MATE_TRAIN]
                + [f'ukui:{n}' for n in UKUI_TRAIN])
HELDOUT_IMAGES = ['skimage:coffee', 'skimage:rocket', 'skimage:coins', 'mate:LadyBird',
                  'ukui:goldfish']

#: Debian package of each image family, and where its images are inside the package.
DEBIAN_SOURCES = {
    'mate': ('mate-backgrounds', 'usr/share/backgrounds/mate/nature', '.jpg'),
    'ukui': ('ukui-wallpapers', 'usr/share/backgrounds', ('.png', '.jpg')),
}
MAX_SHORT_SIDE = 480
DEFAULT_SOURCES = Path.home() / '.cache' / 'realbasicvsr_plugin' / 'demo_sources'


def fetch_debian_package(package: str, sources: Path) -> Path:
    """``apt-get download`` a package and unpack it (without installing) under ``sources``.

    Args:
        package: Debian package name.
        sources: Folder for the downloaded ``.deb`` and its unpacked files.

    Returns:
        Path: The folder the package was unpacked into (``sources/<package>``).
    """
    root = sources / package
    if root.is_dir():
        return root
    sources.mkdir(parents=True, exist_ok=True)
    if not list(sources.glob(f'{package}_*.deb')):
        subprocess.run(['apt-get', 'download', package], cwd=sources, check=True)
    deb = sorted(sources.glob(f'{package}_*.deb'))[-1]
    subprocess.run(['dpkg-deb', '-x', str(deb), str(root)], check=True)
    return root


def load_image(name: str, sources: Path = DEFAULT_SOURCES) -> np.ndarray:
    """An image by its ``family:name`` as BGR uint8 (gray images repeated to three channels).

    Args:
        name: ``skimage:<sample>``, ``mate:<photo>`` or ``ukui:<wallpaper>``.
        sources: Where the Debian packages are (fetched there when missing).

    Returns:
        np.ndarray: (h, w, 3) uint8, the short side at most ``MAX_SHORT_SIDE``.
    """
    family, _, stem = name.partition(':')
    if family == 'skimage':
        try:
            from skimage import data as skdata
        except ImportError:
            raise SystemExit('error: skimage:* images need scikit-image: '
                             'pip install "realbasicvsr_plugin[demo-data]"') from None
        img = getattr(skdata, stem)()
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = np.ascontiguousarray(img[..., :3][..., ::-1])
    elif family in DEBIAN_SOURCES:
        package, folder, exts = DEBIAN_SOURCES[family]
        exts = (exts, ) if isinstance(exts, str) else exts
        root = fetch_debian_package(package, sources) / folder
        files = [root / f'{stem}{ext}' for ext in exts if (root / f'{stem}{ext}').is_file()]
        if not files:
            raise FileNotFoundError(f'no image {stem} in {root}')
        img = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f'cannot read {files[0]}')
    else:
        raise ValueError(f'unknown image family in {name!r} (skimage, mate or ukui)')
    short = min(img.shape[:2])
    if short > MAX_SHORT_SIDE:
        f = MAX_SHORT_SIDE / short
        img = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return img


def is_gray(img: np.ndarray) -> bool:
    """Whether the three channels of a BGR image are equal."""
    return bool(np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))


def camera_clip(img: np.ndarray, frames: int, size: Tuple[int, int],
                rng: np.random.Generator, keep_inside: bool = False) -> Iterator[np.ndarray]:
    """Frames of a smooth camera move over ``img``.

    Args:
        img: Source image (BGR uint8).
        frames: Number of frames.
        size: (height, width) of each frame.
        rng: Random generator (trajectory).
        keep_inside: Scale the image so that the frame stays inside it. Otherwise (the training
            clips of the demo model) the camera may look past the edge, which is reflected.

    Yields:
        np.ndarray: (height, width, 3) uint8 frames.
    """
    h, w = size
    if keep_inside:
        fit = max(1.3 * h / img.shape[0], 1.3 * w / img.shape[1])
        scale0 = fit * rng.uniform(1.0, 1.3)
        src = cv2.resize(img, None, fx=scale0, fy=scale0,
                         interpolation=cv2.INTER_CUBIC if scale0 > 1 else cv2.INTER_AREA)
    else:
        scale0 = rng.uniform(0.45, 1.0) * min(img.shape[0] / (1.6 * h),
                                              img.shape[1] / (1.6 * w), 2.5)
        src = cv2.resize(img, None, fx=min(scale0, 1.0), fy=min(scale0, 1.0),
                         interpolation=cv2.INTER_AREA)
    sh, sw = src.shape[:2]
    margin = 0.3
    cx, cy = rng.uniform(margin * sw, (1 - margin) * sw), rng.uniform(margin * sh, (1 - margin) * sh)
    if keep_inside:
        cx, cy = float(np.clip(cx, w / 2, sw - w / 2)), float(np.clip(cy, h / 2, sh - h / 2))
    speed = rng.uniform(0.3, 2.5)
    heading = rng.uniform(0, 2 * np.pi)
    vx, vy = speed * np.cos(heading), speed * np.sin(heading)
    zoom, dzoom = 1.0, rng.uniform(-0.004, 0.004)
    angle, dangle = 0.0, rng.uniform(-0.25, 0.25)
    for _ in range(frames):
        matrix = cv2.getRotationMatrix2D((cx, cy), angle, zoom)
        matrix[0, 2] += w / 2 - cx
        matrix[1, 2] += h / 2 - cy
        yield cv2.warpAffine(src, matrix, (w, h), flags=cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_REFLECT_101)
        low_x, low_y = (w / 2, h / 2) if keep_inside else (0, 0)
        cx = float(np.clip(cx + vx, low_x, sw - 1 - low_x))
        cy = float(np.clip(cy + vy, low_y, sh - 1 - low_y))
        zoom *= 1 + dzoom
        angle += dangle


def write_clips(names: List[str], out: Path, clips_per_image: int, frames: int,
                size: Tuple[int, int], seed: int, sources: Path = DEFAULT_SOURCES,
                permute_colours: bool = True) -> int:
    """Write ``clips_per_image`` clips of every image in ``names`` under ``out``.

    Args:
        names: Images as ``family:name`` (see :func:`load_image`).
        out: Output folder; clip ``k`` of image ``family:name`` goes to ``out/<name>_<k>``.
        clips_per_image: Clips per image.
        frames: Frames per clip.
        size: (height, width) of the frames.
        seed: Seed of the camera moves and colour permutations.
        sources: Where the Debian packages are.
        permute_colours: Permute the colour channels of every odd clip of a colour image.

    Returns:
        int: The number of clips (written now or already complete).
    """
    rng = np.random.default_rng(seed)
    perms = [(0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    count = 0
    for name in tqdm(names, desc=f'clips -> {out}', unit='image'):
        img = load_image(name, sources)
        gray = is_gray(img)
        for k in range(clips_per_image):
            folder = out / f'{name.partition(":")[2]}_{k:02d}'
            perm = perms[rng.integers(len(perms))]
            if folder.is_dir() and len(list(folder.glob('*.png'))) == frames:
                count += 1
                rng.random()  # keep the sequence of the other clips unchanged
                continue
            src = img[..., list(perm)] if permute_colours and k % 2 and not gray else img
            folder.mkdir(parents=True, exist_ok=True)
            for i, frame in enumerate(camera_clip(src, frames, size, rng)):
                if not cv2.imwrite(str(folder / f'{i:08d}.png'), frame):
                    raise OSError(f'cannot write {folder / f"{i:08d}.png"}')
            count += 1
    return count


def make_demo_video(path: Path, image: str = 'skimage:coffee', frames: int = 48,
                    hr_size: Tuple[int, int] = (384, 512), scale: int = 4, fps: int = 24,
                    seed: int = 7) -> None:
    """The low-quality clip that ships with the package for ``make demo``.

    A camera move over a held-out image, degraded with the plugin's own training degradation
    (blur, resize, noise, JPEG, video compression, twice, random-walking per frame) down to
    ``hr_size / scale``, then encoded with H.264 through PyAV.
    """
    import av
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope

    import realbasicvsr_plugin  # noqa: F401
    init_default_scope('realbasicvsr_plugin')
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    gt = [f[..., ::-1].astype(np.float32) for f in camera_clip(load_image(image), frames, hr_size,
                                                                 rng, keep_inside=True)]
    lq_size = (hr_size[0] // scale, hr_size[1] // scale)
    pipeline = Compose([dict(type='RealBasicVSRDegradations', keys=['img'], target_size=lq_size),
                        dict(type='Clip', keys=['img'])])
    lq = pipeline(dict(img=gt))['img']
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('libx264', rate=fps)
        stream.width, stream.height = lq_size[1], lq_size[0]
        stream.pix_fmt = 'yuv420p'
        stream.options = {'crf': '18'}
        for frame in lq:
            rgb = np.clip(np.round(frame), 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', type=Path, default=Path('data/demo'))
    p.add_argument('--train-clips-per-image', type=int, default=6)
    p.add_argument('--train-frames', type=int, default=20)
    p.add_argument('--train-size', type=int, nargs=2, default=(160, 160), metavar=('H', 'W'))
    p.add_argument('--heldout-clips-per-image', type=int, default=2)
    p.add_argument('--heldout-frames', type=int, default=12)
    p.add_argument('--heldout-size', type=int, nargs=2, default=(192, 256), metavar=('H', 'W'))
    p.add_argument('--validation-clips-per-image', type=int, default=1,
                   help='validation clips per training image (same frames and size as held-out)')
    p.add_argument('--heldout-only', action='store_true', help='skip the training clips')
    p.add_argument('--sources', type=Path, default=DEFAULT_SOURCES,
                   help='where the Debian wallpaper packages are fetched and unpacked')
    p.add_argument('--seed', type=int, default=2022)
    p.add_argument('--demo-video', type=Path, default=None,
                   help='only write the low-quality demo video (H.264) to this path')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.demo_video:
        make_demo_video(args.demo_video)
        print(f'demo video: {args.demo_video}')
        return
    if not args.heldout_only:
        n = write_clips(TRAIN_IMAGES, args.out / 'train', args.train_clips_per_image,
                        args.train_frames, tuple(args.train_size), args.seed, args.sources)
        print(f'{n} training clips in {args.out / "train"}')
    n = write_clips(TRAIN_IMAGES, args.out / 'validation' / 'GT', args.validation_clips_per_image,
                    args.heldout_frames, tuple(args.heldout_size), args.seed + 2,
                    args.sources, permute_colours=False)
    print(f'{n} validation clips in {args.out / "validation" / "GT"}')
    n = write_clips(HELDOUT_IMAGES, args.out / 'heldout' / 'GT', args.heldout_clips_per_image,
                    args.heldout_frames, tuple(args.heldout_size), args.seed + 1,
                    args.sources, permute_colours=False)
    print(f'{n} held-out clips in {args.out / "heldout" / "GT"}')


if __name__ == '__main__':
    main()
