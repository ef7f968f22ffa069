"""The portal as an installable web app (issue 21): city.toml's [app] table, the home-screen
icons drawn from the logo at import, the manifest in the city's name, colours and the page's
language, the service worker's headers and what the server writes into it, the offline page."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from portal.city.app_icons import FOLDER
from portal.demo.loader import CITY_DIR

PORT_ALDER = Path(__file__).resolve().parents[1] / "cities" / "port-alder"


def city_import(runner, folder: Path):
    result = runner.invoke(args=["city", "import", str(folder)])
    return result


def with_app_table(tmp_path: Path, table: str, source: Path = CITY_DIR) -> Path:
    """A copy of ``source`` whose city.toml's [app] table is ``table`` (none: "")."""
    folder = tmp_path / "city"
    shutil.copytree(source, folder)
    path = folder / "city.toml"
    text = re.sub(r"\n\[app\]\n(?:[^\[]*\n)?(?=\[|\Z)", "\n", path.read_text(encoding="utf-8"))
    path.write_text(text.rstrip("\n") + "\n\n" + table + "\n", encoding="utf-8")
    return folder


def manifest(client, lang: str = "en") -> dict:
    response = client.get(f"/manifest.webmanifest?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    return json.loads(response.get_data(as_text=True))


def png(client, url: str) -> bytes:
    with client.get(url) as response:
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        return response.get_data()


def png_size(client, url: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(png(client, url))) as image:
        return image.size


def test_import_draws_the_icons_and_the_manifest_names_the_city(runner, client, settings):
    result = city_import(runner, CITY_DIR)
    assert result.exit_code == 0, result.output
    assert "Home-screen icons:" in result.output
    folders = list((Path(settings.upload_dir) / FOLDER).iterdir())
    assert len(folders) == 1
    assert sorted(p.name for p in folders[0].iterdir()) == [
        "apple-touch-icon.png",
        "icon-192.png",
        "icon-512.png",
        "icon-maskable-512.png",
    ]

    data = manifest(client, "en")
    assert data["name"] == "Riverton 311" and data["short_name"] == "Riverton 311"
    assert data["description"] == "Report a problem to City of Riverton and follow your requests."
    assert (data["lang"], data["dir"]) == ("en", "ltr")
    assert (data["start_url"], data["scope"], data["display"]) == (
        "/?source=pwa",
        "/",
        "standalone",
    )
    assert (data["theme_color"], data["background_color"]) == ("#1a4480", "#ffffff")
    sizes = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in data["icons"]}
    assert set(sizes) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for (size, _purpose), src in sizes.items():
        assert src.startswith(f"/app-icons/{folders[0].name}/")
        assert png_size(client, src) == tuple(int(n) for n in size.split("x"))

    spanish = manifest(client, "es")
    assert (spanish["lang"], spanish["name"]) == ("es", "Riverton 311")
    assert (
        spanish["description"] == "Reporte un problema a Ciudad de Riverton y siga sus solicitudes."
    )


def test_the_maskable_icon_keeps_the_logo_inside_the_safe_zone(runner, client):
    assert city_import(runner, CITY_DIR).exit_code == 0
    src = next(i["src"] for i in manifest(client)["icons"] if i["purpose"] == "maskable")
    with Image.open(io.BytesIO(png(client, src))) as image:
        pixels = image.convert("RGB")
        # Outside the safe zone (the centred circle of 80 % of the side): theme colour only.
        for x, y in ((5, 5), (506, 5), (5, 506), (506, 506), (256, 40), (40, 256)):
            assert pixels.getpixel((x, y)) == (0x1A, 0x44, 0x80)
        # The logo's white buildings are drawn inside it.
        assert (255, 255, 255) in {pixels.getpixel((x, 230)) for x in range(150, 360)}
    home = client.get("/").get_data(as_text=True)
    apple = re.search(r'<link rel="apple-touch-icon" href="([^"]+)"', home).group(1)
    with Image.open(io.BytesIO(png(client, apple))) as image:
        assert image.size == (180, 180) and image.mode == "RGB"


def test_the_app_table_sets_the_short_name_and_colours(runner, client, tmp_path, settings):
    folder = with_app_table(
        tmp_path,
        '[app]\nshort_name = " Riverton "\ntheme_color = "#0B4778"\nbackground_color = "#F0F0F0"',
    )
    assert city_import(runner, CITY_DIR).exit_code == 0
    result = city_import(runner, folder)
    assert result.exit_code == 0, result.output
    # New colours, new icons; the previous import's are removed.
    assert len(list((Path(settings.upload_dir) / FOLDER).iterdir())) == 1
    data = manifest(client)
    assert (data["short_name"], data["theme_color"], data["background_color"]) == (
        "Riverton",
        "#0b4778",
        "#f0f0f0",
    )
    home = client.get("/").get_data(as_text=True)
    assert '<meta name="theme-color" content="#0b4778">' in home
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=en">' in home


def test_without_an_app_table_the_short_name_comes_from_the_service_name(runner, client, tmp_path):
    folder = with_app_table(tmp_path, "")
    text = (folder / "city.toml").read_text(encoding="utf-8")
    (folder / "city.toml").write_text(
        text.replace('short_name = "Riverton 311"', 'short_name = "Riverton Service Desk"'),
        encoding="utf-8",
    )
    assert city_import(runner, folder).exit_code == 0
    data = manifest(client)
    assert data["short_name"] == "Riverton"  # the first words that fit in 12 characters
    assert data["name"] == "Riverton Service Desk"
    assert data["theme_color"] == "#1a4480"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            '[app]\nshort_name = "Riverton Services"',
            'city.toml: [app]: short_name "Riverton Services" is 17 characters: a phone shows '
            'at most 12 under its icon (like "Springfield")',
        ),
        (
            '[app]\ntheme_color = "blue"',
            'city.toml: [app]: theme_color "blue" is not a colour written like "#1a4480"',
        ),
        (
            '[app]\nbackground_color = "#fff"',
            'city.toml: [app]: background_color "#fff" is not a colour written like "#1a4480"',
        ),
        (
            '[app]\nname = "Riverton"',
            'city.toml: [app]: unknown key "name" (expected one of background_color, '
            "short_name, theme_color)",
        ),
        ('app = "Riverton"', 'city.toml: the file: "app" must be a table ([app])'),
    ],
)
def test_a_bad_app_table_is_named_and_nothing_is_imported(runner, client, tmp_path, table, problem):
    folder = with_app_table(tmp_path, "")
    if not table.startswith("["):
        text = (folder / "city.toml").read_text(encoding="utf-8")
        (folder / "city.toml").write_text(table + "\n" + text, encoding="utf-8")
    else:
        with_app_table(tmp_path / "again", table)
        folder = tmp_path / "again" / "city"
    result = city_import(runner, folder)
    assert result.exit_code == 1
    assert problem in result.output
    assert manifest(client)["short_name"] == "Riverton 311"  # the test settings: no city


def test_a_small_raster_logo_makes_icons_and_a_warning(runner, client):
    result = city_import(runner, PORT_ALDER)
    assert result.exit_code == 0, result.output
    assert 'the logo "alder-logo.png" is 64x64 px' in result.output
    icons = {i["sizes"]: i["src"] for i in manifest(client)["icons"] if i["purpose"] == "any"}
    assert png_size(client, icons["512x512"]) == (512, 512)


def test_missing_icons_are_drawn_again_and_strange_names_are_404(runner, client, settings):
    assert city_import(runner, CITY_DIR).exit_code == 0
    shutil.rmtree(Path(settings.upload_dir) / FOLDER)
    src = manifest(client)["icons"][0]["src"]
    assert png_size(client, src) == (192, 192)
    version = src.split("/")[2]
    for url in (
        f"/app-icons/{version}/logo.svg",
        f"/app-icons/{version}/..%2Fsecret.png",
        "/app-icons/0123456789ab/icon-192.png",  # not the current version, not on disk
        "/app-icons/..%2F..%2Fetc/icon-192.png",
        "/app-icons/NOTAVERSION/icon-192.png",
    ):
        with client.get(url) as response:
            assert response.status_code == 404, url


def test_before_any_import_the_portal_mark_is_the_icon(client):
    data = manifest(client)
    assert data["short_name"] == "Riverton 311"
    assert png_size(client, data["icons"][1]["src"]) == (512, 512)


def test_the_service_worker_is_served_from_the_root_uncached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Service-Worker-Allowed" not in response.headers  # its own path is its scope: /
    etag = response.headers["ETag"]
    assert client.get("/sw.js", headers={"If-None-Match": etag}).status_code == 304

    body = response.get_data(as_text=True)
    config = json.loads(re.search(r"const CONFIG = (\{.*?\});\n", body).group(1))
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    assert config["offline"] == [
        {"lang": "en", "url": "/offline?lang=en"},
        {"lang": "es", "url": "/offline?lang=es"},
    ] or config["offline"] == [{"lang": "en", "url": "/offline?lang=en"}]
    # Every precached URL answers, the static files under their hashed names when built.
    for url in config["precache"] + [o["url"] for o in config["offline"]]:
        with client.get(url) as answer:
            assert answer.status_code == 200, url
    assert any(url.endswith(".css") and "uswds-portal" in url for url in config["precache"])
    assert "/staff" in config["neverCached"] and "/requests/" in config["neverCached"]
    assert "/static/js/sw-register" not in " ".join(config["imports"])
    assert all(re.match(r"^/static/(dist/)?js/sw-[a-z0-9-]+\.", url) for url in config["imports"])


def test_a_city_import_changes_the_workers_version(runner, client):
    before = re.search(r'"version": "([0-9a-f]{12})"', client.get("/sw.js").get_data(as_text=True))
    assert city_import(runner, CITY_DIR).exit_code == 0
    after = re.search(r'"version": "([0-9a-f]{12})"', client.get("/sw.js").get_data(as_text=True))
    assert before and after and before.group(1) != after.group(1)


def test_the_offline_page_in_english_and_spanish(runner, client):
    assert city_import(runner, CITY_DIR).exit_code == 0
    english = client.get("/offline?lang=en")
    assert english.status_code == 200 and english.headers["Cache-Control"] == "no-cache"
    page = english.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "<h1>You are offline</h1>" in page
    assert '<a href="/report/offline">Write a report now</a>' in page
    assert "In an emergency call 911." in page
    spanish = client.get("/offline?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in spanish
    assert "<h1>No tiene conexión</h1>" in spanish
    assert "En caso de emergencia, llame al 911." in spanish


def test_the_back_office_links_the_manifest_but_installs_no_worker(client, make, db):
    from tests.conftest import sign_in

    agent = make.user(role="admin")
    sign_in(client, agent)
    page = client.get("/staff/admin/staff/").get_data(as_text=True)
    assert '<link rel="manifest"' in page and '<meta name="theme-color"' in page
    assert "sw-register" not in page
    client.get("/", headers={})
    assert "sw-register" in client.get("/").get_data(as_text=True)


def test_a_wide_svg_logo_is_centred_not_stretched(runner, client, tmp_path):
    folder = with_app_table(tmp_path, "")
    (folder / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100">'
        '<rect width="200" height="100" fill="#cc0000"/></svg>',
        encoding="utf-8",
    )
    assert city_import(runner, folder).exit_code == 0
    src = next(i["src"] for i in manifest(client)["icons"] if i["sizes"] == "512x512")
    with Image.open(io.BytesIO(png(client, src))) as image:
        assert image.getbbox() == (0, 128, 512, 384)  # 2:1, centred, the rest transparent
        assert image.getpixel((256, 256)) == (204, 0, 0, 255)
