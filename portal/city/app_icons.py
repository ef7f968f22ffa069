"""The installed web app's icons, made from the city's logo (issue 21).

``flask city import`` (and ``flask demo load``, which imports the demo city) draws them once the
profile is written; the icon route draws any that are missing (a new web machine, an emptied
disk) from the same profile, so the files are a cache of the logo, never a source:

    icon-192.png             the logo on a transparent square, 192 px      (purpose "any")
    icon-512.png             the same, 512 px                              (purpose "any")
    icon-maskable-512.png    the logo inside the safe zone of a square of the theme colour,
                             so a launcher's circle or squircle never cuts it (purpose "maskable")
    apple-touch-icon.png     180 px on the background colour (iOS fills transparency black)

A PNG or JPEG logo also gets ``logo-header.png`` (``HEADER_LOGO``): the logo at twice the
header's CSS height (``HEADER_HEIGHT``), which the pages' header shows instead of the whole
upload (up to 512 KB); an SVG logo is shown as it is.

They live in ``<upload_dir>/app-icons/<version>/``; the version is a hash of what they are drawn
from (the logo's version and the two colours), so their URLs change with them and can be cached
for a year. An SVG logo is drawn by resvg (``resvg-py``: a self-contained wheel, no system
library); a PNG or JPEG is scaled with Pillow (one smaller than 512 px is scaled up, and
``small_logo_warning`` says so). A city without a logo gets the portal's own mark.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from portal.city.models import PROFILE_ID, CityProfile
from portal.core.config import ROOT, Settings

#: Bumped when the drawing changes, so every city's icons are drawn again.
GENERATOR = "1"
FOLDER = "app-icons"
DEFAULT_LOGO = ROOT / "static" / "img" / "favicon.svg"
#: Below this a raster logo is scaled up for the 512 px icons (and looks soft).
MIN_RASTER_PX = 512
#: The share of a maskable icon's side the logo may fill: the safe zone is the centred circle
#: of 80 % of the side, and a square inside it is 80 % / sqrt(2) = 56.6 % of the side.
MASKABLE_LOGO_SHARE = 0.56
#: The logo's share of the apple-touch-icon (iOS rounds its corners).
APPLE_LOGO_SHARE = 0.84
_VERSION_RE = re.compile(r"^[0-9a-f]{12}\Z")


@dataclass(frozen=True)
class IconSpec:
    name: str
    size: int
    purpose: str  # "any" or "maskable"; "" for the apple-touch-icon (not in the manifest)


ICONS = (
    IconSpec("icon-192.png", 192, "any"),
    IconSpec("icon-512.png", 512, "any"),
    IconSpec("icon-maskable-512.png", 512, "maskable"),
    IconSpec("apple-touch-icon.png", 180, ""),
)
NAMES = frozenset(icon.name for icon in ICONS)
#: The header's copy of a raster logo: 2x the 2.5rem (40 px) of static/css/portal.css
#: .portal-logo, at most ``HEADER_MAX_WIDTH`` wide (a very wide logo is shown narrower).
HEADER_LOGO = "logo-header.png"
HEADER_HEIGHT = 80
HEADER_MAX_WIDTH = 480
RASTER_TYPES = ("image/png", "image/jpeg")
#: What the icon route serves from a version's folder.
SERVED = NAMES | {HEADER_LOGO}


def icons_version(*, logo_version: str, theme_color: str, background_color: str) -> str:
    """Twelve hex digits that change whenever the icons would look different."""
    key = f"{GENERATOR}|{logo_version}|{theme_color}|{background_color}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def icons_folder(upload_dir: str | Path, version: str) -> Path:
    """Where the icons of ``version`` are kept. Raises ``ValueError`` for a malformed version
    (it comes from a URL)."""
    if not _VERSION_RE.match(version):
        raise ValueError(f"not an icons version: {version!r}")
    return Path(upload_dir) / FOLDER / version


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _logo_image(logo: bytes | None, logo_type: str, box: int) -> Image.Image:
    """The logo as RGBA, fitted (aspect kept) inside a ``box`` x ``box`` square."""
    if not logo:
        logo, logo_type = DEFAULT_LOGO.read_bytes(), "image/svg+xml"
    if logo_type == "image/svg+xml":
        import resvg_py

        # Drawn at twice the box, then scaled down with Lanczos: crisp at any viewBox.
        png = resvg_py.svg_to_bytes(svg_string=logo.decode("utf-8"), width=box * 2)
        source = Image.open(io.BytesIO(bytes(png)))
    else:
        source = Image.open(io.BytesIO(logo))
    with source:
        image = ImageOps.exif_transpose(source).convert("RGBA")
    return ImageOps.contain(image, (box, box), Image.Resampling.LANCZOS)


def _on_square(logo: Image.Image, size: int, fill: tuple[int, int, int, int]) -> Image.Image:
    canvas = Image.new("RGBA", (size, size), fill)
    canvas.alpha_composite(logo, ((size - logo.width) // 2, (size - logo.height) // 2))
    return canvas


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def draw_icons(
    logo: bytes | None, logo_type: str, *, theme_color: str, background_color: str
) -> dict[str, bytes]:
    """Every icon of ``ICONS`` as PNG bytes, by file name. Raises ``ValueError`` when the
    logo cannot be drawn (it was checked at import, so only a corrupted row)."""
    try:
        full = _logo_image(logo, logo_type, 512)
    except (OSError, ValueError, UnicodeDecodeError, Image.DecompressionBombError) as exc:
        raise ValueError(f"the logo cannot be drawn: {exc}") from exc
    clear = (0, 0, 0, 0)
    theme = (*_rgb(theme_color), 255)
    background = (*_rgb(background_color), 255)
    drawn: dict[str, bytes] = {}
    for icon in ICONS:
        if icon.purpose == "maskable":
            box, fill = round(icon.size * MASKABLE_LOGO_SHARE), theme
        elif icon.purpose == "any":
            box, fill = icon.size, clear
        else:
            box, fill = round(icon.size * APPLE_LOGO_SHARE), background
        logo_image = ImageOps.contain(full, (box, box), Image.Resampling.LANCZOS)
        image = _on_square(logo_image, icon.size, fill)
        drawn[icon.name] = _png(image if fill[3] == 0 else image.convert("RGB"))
    if logo and logo_type in RASTER_TYPES:
        drawn[HEADER_LOGO] = _png(_header_logo(logo))
    return drawn


def _header_logo(logo: bytes) -> Image.Image:
    """A raster logo made small enough for the header (never made larger than it is)."""
    with Image.open(io.BytesIO(logo)) as source:
        image = ImageOps.exif_transpose(source).convert("RGBA")
    image.thumbnail((HEADER_MAX_WIDTH, HEADER_HEIGHT), Image.Resampling.LANCZOS)
    return image


def header_logo(upload_dir: str | Path, version: str) -> tuple[str, int, int] | None:
    """The header's copy of the logo in the icons of ``version`` as (file name, width,
    height) in pixels, or None when there is none (an SVG logo, no logo, not drawn yet)."""
    try:
        path = icons_folder(upload_dir, version) / HEADER_LOGO
        with Image.open(path, formats=("PNG",)) as image:
            return HEADER_LOGO, image.width, image.height
    except (OSError, ValueError):
        return None


def write_icons(
    upload_dir: str | Path,
    version: str,
    logo: bytes | None,
    logo_type: str,
    *,
    theme_color: str,
    background_color: str,
) -> Path:
    """Draw the icons of ``version`` into their folder (all at once: a reader never sees half
    of them) unless they are there already; return the folder."""
    folder = icons_folder(upload_dir, version)
    wanted = NAMES | ({HEADER_LOGO} if logo and logo_type in RASTER_TYPES else set())
    if all((folder / name).is_file() for name in wanted):
        return folder
    icons = draw_icons(logo, logo_type, theme_color=theme_color, background_color=background_color)
    if folder.is_dir():
        # Drawn before a file was added to what is drawn (the header's logo): add the missing.
        for name, data in icons.items():
            if not (folder / name).is_file():
                partial = folder / f".{name}-{os.getpid()}"
                partial.write_bytes(data)
                os.replace(partial, folder / name)
        return folder
    building = folder.with_name(f".{version}-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    for name, data in icons.items():
        (building / name).write_bytes(data)
    try:
        building.rename(folder)
    except OSError:
        # Another process drew them first (same inputs, same pictures).
        shutil.rmtree(building, ignore_errors=True)
    return folder


def prune_icons(upload_dir: str | Path, keep: str) -> list[str]:
    """Remove the icons of every version but ``keep`` (after an import: an installed app asks
    for the new ones with its next manifest); return the versions removed."""
    root = Path(upload_dir) / FOLDER
    removed = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.is_dir() and folder.name != keep and _VERSION_RE.match(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def city_icons(session: Session, settings: Settings) -> Path:
    """The folder of the city's icons as ``settings`` (the city's, ``portal.city.profile``)
    describe them, drawn from the imported logo if they are not there yet."""
    profile = session.get(CityProfile, PROFILE_ID)
    logo = profile.logo if profile is not None and profile.logo_filename else None
    return write_icons(
        settings.upload_dir,
        settings.icons_version,
        logo,
        profile.logo_type if profile is not None and logo else "",
        theme_color=settings.theme_color,
        background_color=settings.background_color,
    )


def small_logo_warning(logo: bytes | None, logo_type: str, filename: str) -> str | None:
    """A sentence for the administrator when a PNG or JPEG logo is too small to make sharp
    512 px icons, else None."""
    if not logo or logo_type not in RASTER_TYPES:
        return None
    with Image.open(io.BytesIO(logo)) as image:
        width, height = image.size
    if max(width, height) >= MIN_RASTER_PX:
        return None
    return (
        f'Note: the logo "{filename}" is {width}x{height} px; the home-screen icons (up to '
        f"512 px) are scaled up from it and may look soft. An SVG logo, or a PNG of at least "
        f"{MIN_RASTER_PX} px, makes sharp icons."
    )
