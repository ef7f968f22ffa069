"""Photo upload figures: time and peak memory of re-encoding one upload, worst cases included.

Makes a set of images (phone photos and the attacks: a few-hundred-KB PNG of ~40 megapixels, a
huge progressive JPEG, a big WebP and GIF), then stores each with
``portal.requests.photos.store_photo`` in a fresh process, so each figure is that one photo's:
- seconds spent in ``store_photo`` (accepted or refused);
- peak memory: the process's resident high-water mark (VmHWM, reset before the call through
  /proc/self/clear_refs; ``ru_maxrss`` elsewhere) above what it held before the call, which
  counts what libjpeg, zlib and Pillow allocate (tracemalloc sees none of it), and
  tracemalloc's Python peak beside it.

    .venv/bin/python benchmarks/photos.py [--images DIR] [--code path/to/photos.py]
        [--max-image-pixels N]

``--code`` loads ``store_photo`` from another copy of the module (e.g. the one before a change:
``git show <commit>:portal/requests/photos.py > /tmp/photos_before.py``), to compare. Images
are generated into DIR (a temporary folder by default; reused when they are there). Prints
figures; changes nothing else.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from PIL import Image

#: name -> (format, width, height, save options, what it stands for)
IMAGES: dict[str, tuple[str, int, int, dict, str]] = {
    "phone_12mp.jpg": ("JPEG", 4032, 3024, {"quality": 90}, "12 MP phone JPEG"),
    "phone_48mp.jpg": ("JPEG", 8000, 6000, {"quality": 80}, "48 MP phone JPEG"),
    "jpeg_100mp.jpg": ("JPEG", 12000, 8333, {"quality": 50}, "100 MP baseline JPEG"),
    "jpeg_101mp.jpg": ("JPEG", 12000, 8400, {"quality": 50}, "101 MP baseline JPEG"),
    "progressive_25mp_444.jpg": (
        "JPEG",
        6123,
        4082,
        {"quality": 95, "progressive": True, "subsampling": 0},
        "25 MP progressive 4:4:4 JPEG",
    ),
    "progressive_50mp.jpg": (
        "JPEG",
        8160,
        6120,
        {"quality": 75, "progressive": True},
        "50 MP progressive JPEG",
    ),
    "screenshot_8mp.png": ("PNG", 2560, 3200, {}, "8 MP PNG screenshot"),
    "png_12mp_rgba.png": ("PNG", 4082, 3062, {}, "12.5 MP RGBA PNG"),
    "png_16mp.png": ("PNG", 4900, 3265, {}, "16 MP PNG"),
    "png_39mp.png": ("PNG", 7000, 5670, {"optimize": True}, "39.7 MP PNG, flat (attack)"),
    "png_39mp_rgba.png": ("PNG", 7000, 5670, {"optimize": True}, "39.7 MP RGBA PNG (attack)"),
    "webp_12mp.webp": ("WEBP", 4082, 3062, {"quality": 80}, "12.5 MP WebP"),
    "webp_39mp.webp": ("WEBP", 7000, 5670, {"quality": 50}, "39.7 MP WebP (attack)"),
    "gif_12mp.gif": ("GIF", 4082, 3062, {}, "12.5 MP GIF, flat"),
    "gif_39mp.gif": ("GIF", 7000, 5670, {}, "39.7 MP GIF, flat (attack)"),
}


def _photo_like(width: int, height: int, mode: str, grain: bool = True) -> Image.Image:
    """Smooth gradients with some grain: compresses like a photo, not like noise (PNGs get no
    grain, like screenshots, so they stay under the upload size limit)."""
    small = (max(1, width // 8), max(1, height // 8))
    red = Image.linear_gradient("L").resize(small)
    green = Image.radial_gradient("L").resize(small)
    blue = Image.effect_noise(small, 40)
    base = Image.merge("RGB", (red, green, blue)).resize((width, height), Image.Resampling.BILINEAR)
    image = base
    if grain:
        noise = Image.effect_noise((width, height), 6).convert("RGB")
        image = Image.blend(base, noise, 0.15)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((width, height)))
    return image


def make_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (fmt, width, height, options, _label) in IMAGES.items():
        path = folder / name
        if path.exists():
            continue
        if name == "png_39mp.png":
            image = Image.new("RGB", (width, height), (200, 200, 200))  # the 154 KB attack
        elif name == "png_39mp_rgba.png":
            image = Image.new("RGBA", (width, height), (200, 200, 200, 128))
        elif fmt == "GIF":
            image = Image.new("P", (width, height), 3)
        else:
            mode = "RGBA" if "rgba" in name else "RGB"
            image = _photo_like(width, height, mode, grain=fmt != "PNG")
        image.save(path, format=fmt, **options)
        print(f"made {name}: {path.stat().st_size / 1024:,.0f} KB", file=sys.stderr)


def _status(field: str) -> int:
    """A figure (KB) from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the resident high-water mark to what the process holds now (Linux: writing 5 to
    clear_refs) and return that (KB); without /proc, ru_maxrss so far."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak() -> int:
    try:
        return _status("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_one(path: Path, code: str | None, max_pixels: int | None) -> dict:
    """Store one photo in this (fresh) process; time and peak memory above the start."""
    if code:
        spec = importlib.util.spec_from_file_location("photos_under_test", code)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    else:
        from portal.requests import photos as module
    from portal.core.config import Settings

    data = path.read_bytes()
    with tempfile.TemporaryDirectory() as upload_dir:
        settings = Settings(upload_dir=upload_dir)
        if max_pixels:
            settings = replace(settings, max_image_pixels=max_pixels)
        before = _reset_peak()
        tracemalloc.start()
        started = time.perf_counter()
        try:
            stored = module.store_photo(io.BytesIO(data), settings=settings)
            outcome = f"stored {stored.width}x{stored.height}"
        except module.PhotoError as exc:
            outcome = f"refused: {exc.code}"
        seconds = time.perf_counter() - started
        _current, python_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after = _peak()
    return {
        "seconds": seconds,
        "rss_mb": (after - before) / 1024,
        "python_mb": python_peak / 2**20,
        "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=None)
    parser.add_argument("--code", default=None, help="another copy of portal/requests/photos.py")
    parser.add_argument(
        "--max-image-pixels", type=int, default=None, help="instead of the settings' default"
    )
    parser.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.code, args.max_image_pixels)))
        return
    folder = args.images or Path(tempfile.mkdtemp(prefix="photo-bench-"))
    make_images(folder)
    limit = args.max_image_pixels or "the default"
    print(f"store_photo from {args.code or 'portal/requests/photos.py'}; images in {folder}")
    print(f"max_image_pixels: {limit}")
    print(f"{'image':<32} {'KB':>8} {'seconds':>8} {'peak MB':>8} {'py MB':>6}  outcome")
    for name, (*_spec, label) in IMAGES.items():
        path = folder / name
        command = [sys.executable, __file__, "--one", str(path)]
        if args.code:
            command += ["--code", args.code]
        if args.max_image_pixels:
            command += ["--max-image-pixels", str(args.max_image_pixels)]
        result = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if result.returncode:
            print(f"{name:<32} failed: {result.stderr.strip().splitlines()[-1:]}")
            continue
        figures = json.loads(result.stdout)
        print(
            f"{label:<32} {path.stat().st_size / 1024:>8,.0f} {figures['seconds']:>8.2f} "
            f"{figures['rss_mb']:>8.0f} {figures['python_mb']:>6.0f}  {figures['outcome']}"
        )


if __name__ == "__main__":
    main()
