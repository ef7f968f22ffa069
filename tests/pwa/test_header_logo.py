"""The header's logo sized for the screen (issue 21): a PNG or JPEG logo (up to 512 KB in
city.toml) gets a copy at twice the header's height, drawn at import beside the home-screen
icons, and the pages' header shows that copy with its width and height; an SVG logo is shown
as it is."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

from PIL import Image, ImageDraw

from portal.city.app_icons import FOLDER, HEADER_LOGO
from portal.demo.loader import CITY_DIR
from tests.pwa.test_installable import PORT_ALDER, city_import

IMG_RE = re.compile(r'<img class="portal-logo" src="([^"]+)" alt="" width="(\d+)" height="(\d+)">')


def city_with_logo(tmp_path: Path, size: tuple[int, int], fmt: str) -> tuple[Path, bytes]:
    """Port Alder with a ``size`` logo in ``fmt``: shapes on a gradient with a little grain
    (a logo exported from a photo editor: a PNG of a few hundred KB)."""
    folder = tmp_path / "city"
    shutil.copytree(PORT_ALDER, folder)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image = Image.blend(image, Image.effect_noise(size, 40).convert("RGB"), 0.04)
    draw = ImageDraw.Draw(image)
    width, height = size
    for i in range(12):
        box = (i * width // 12, height // 4, (i + 1) * width // 12, 3 * height // 4)
        draw.ellipse(box, fill=(20 * i, 90, 255 - 20 * i))
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    name = "logo.png" if fmt == "PNG" else "logo.jpg"
    (folder / name).write_bytes(out.getvalue())
    toml = folder / "city.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('logo = "alder-logo.png"', f'logo = "{name}"'),
        encoding="utf-8",
    )
    return folder, out.getvalue()


def header_img(client) -> tuple[str, int, int]:
    html = client.get("/").get_data(as_text=True)
    found = IMG_RE.search(html)
    assert found is not None, html[:3000]
    return found.group(1), int(found.group(2)), int(found.group(3))


def test_a_large_png_logo_is_shown_at_twice_the_header_height(runner, client, settings, tmp_path):
    folder, logo = city_with_logo(tmp_path, (1000, 500), "PNG")
    assert 200_000 < len(logo) <= 512 * 1024
    result = city_import(runner, folder)
    assert result.exit_code == 0, result.output
    src, width, height = header_img(client)
    assert re.fullmatch(rf"/app-icons/[0-9a-f]{{12}}/{HEADER_LOGO}", src), src
    assert (width, height) == (80, 40)  # CSS pixels: the copy is 160 x 80
    with client.get(src) as response:
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["ETag"]
        data = response.get_data()
    assert Image.open(io.BytesIO(data)).size == (160, 80)
    assert len(data) < len(logo) / 5, (len(data), len(logo))
    # The service worker keeps the copy the header shows, for the offline page.
    assert src in client.get("/sw.js").get_data(as_text=True)
    # The whole logo is still there for whoever asks (the profile page, a download).
    with client.get("/city/logo") as response:
        assert response.status_code == 200 and response.get_data() == logo


def test_a_jpeg_logo_gets_the_copy_too_and_it_is_drawn_again_when_missing(
    runner, client, settings, tmp_path
):
    folder, _logo = city_with_logo(tmp_path, (600, 600), "JPEG")
    assert city_import(runner, folder).exit_code == 0
    src, width, height = header_img(client)
    assert (width, height) == (40, 40)
    copy = next((Path(settings.upload_dir) / FOLDER).glob(f"*/{HEADER_LOGO}"))
    copy.unlink()  # a new web machine, an emptied disk
    # Until it is drawn again the header falls back to the whole logo; the route draws it.
    assert header_img(client)[0].startswith("/city/logo")
    with client.get(src) as response:
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.get_data())).size == (80, 80)
    assert header_img(client)[0] == src


def test_a_small_logo_is_not_made_larger(runner, client):
    assert city_import(runner, PORT_ALDER).exit_code == 0  # a 64 x 64 PNG
    src, width, height = header_img(client)
    assert src.endswith(HEADER_LOGO) and (width, height) == (32, 32)
    with client.get(src) as response:
        assert Image.open(io.BytesIO(response.get_data())).size == (64, 64)


def test_an_svg_logo_is_shown_as_it_is(runner, client):
    assert city_import(runner, CITY_DIR).exit_code == 0
    src, width, height = header_img(client)
    assert src.startswith("/city/logo?v=") and (width, height) == (40, 40)
    version = re.search(r"/app-icons/([0-9a-f]{12})/", client.get("/").get_data(as_text=True))
    assert version is not None
    with client.get(f"/app-icons/{version.group(1)}/{HEADER_LOGO}") as response:
        assert response.status_code == 404
