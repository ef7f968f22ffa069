"""city.toml's [[open311.outbound]] tables: checked when the folder is read (every problem
named with its file and table), imported into the city profile, read by portal.outbound, and
written back by `flask city export`."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from portal.city.folder import CityConfigError, read_folder
from portal.outbound.config import endpoints
from tests.city.test_schemas import schema_errors

PORT_ALDER = Path(__file__).resolve().parents[1] / "cities" / "port-alder"
GOOD = """
[[open311.outbound]]
department = "roads"
name = "Cityworks"
endpoint = "https://works.portalder.example/open311/v2/"
jurisdiction_id = "works.portalder.example"
api_key_env = "PORTAL_CITYWORKS_KEY"
service_code = "general"
service_codes = { road-damage = "RD-1" }
"""


def alder_with(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "alder"
    shutil.copytree(PORT_ALDER, folder)
    with (folder / "city.toml").open("a", encoding="utf-8") as file:
        file.write(extra)
    return folder


def problems(folder: Path) -> list[str]:
    try:
        read_folder(folder)
    except CityConfigError as exc:
        return exc.problems
    return []


def test_an_outbound_endpoint_is_imported_read_and_exported(runner, db, tmp_path):
    folder = alder_with(tmp_path, GOOD)
    data = tomllib.loads((folder / "city.toml").read_text(encoding="utf-8"))
    assert schema_errors("city.toml", data) == []
    result = runner.invoke(args=["city", "import", str(folder)])
    assert result.exit_code == 0, result.output
    found = endpoints(db)
    assert list(found) == ["roads"]
    roads = found["roads"]
    assert roads.name == "Cityworks"
    assert roads.code_for("road-damage") == "RD-1"
    assert roads.code_for("leak") == "general"
    assert roads.api_key_env == "PORTAL_CITYWORKS_KEY"

    exported = runner.invoke(args=["city", "export", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    written = tomllib.loads((tmp_path / "export" / "city.toml").read_text(encoding="utf-8"))
    assert written["open311"]["outbound"] == data["open311"]["outbound"]
    assert schema_errors("city.toml", written) == []
    again = runner.invoke(args=["city", "import", str(tmp_path / "export")])
    assert again.exit_code == 0, again.output
    assert "was already imported: nothing changed" in again.output


def test_every_problem_is_named(tmp_path):
    folder = alder_with(
        tmp_path,
        """
[[open311.outbound]]
department = "road"
name = "Cityworks"
endpoint = "works.portalder.example/open311/v2"
api_key_env = "abc123-secret-key"
service_codes = { pothole = "RD-1" }
colour = "red"

[[open311.outbound]]
department = "utilities"
name = "Water works"
endpoint = "https://water.portalder.example/open311/v2/"
""",
    )
    found = problems(folder)
    assert found == [
        'city.toml: [[open311.outbound]] #1: unknown key "colour" (expected one of '
        "api_key_env, department, endpoint, jurisdiction_id, name, service_code, service_codes)",
        'city.toml: [[open311.outbound]] #1: endpoint "works.portalder.example/open311/v2" must '
        'be an Open311 base URL ending in "/", like "https://works.example.gov/open311/v2/"',
        'city.toml: [[open311.outbound]] #1: api_key_env "abc123-secret-key" must name an '
        'environment variable (like "PORTAL_WORKS_API_KEY"), not hold the key',
        'city.toml: [[open311.outbound]] #2: needs "service_code" (for every category) or '
        '"service_codes"',
    ], found


def test_references_to_the_catalogue_are_checked(tmp_path):
    folder = alder_with(
        tmp_path,
        """
[[open311.outbound]]
department = "road"
name = "Cityworks"
endpoint = "https://works.portalder.example/open311/v2/"
service_codes = { pothole = "RD-1" }
""",
    )
    found = problems(folder)
    assert any(
        'city.toml: [[open311.outbound]] #1: department "road" does not exist' in p
        and 'did you mean "roads"' in p
        for p in found
    ), found
    assert any(
        'city.toml: [[open311.outbound]] #1: service_codes: category "pothole" does not exist' in p
        for p in found
    ), found


def _endpoint_table(endpoint: str) -> str:
    return f"""
[[open311.outbound]]
department = "roads"
name = "Cityworks"
endpoint = "{endpoint}"
service_code = "general"
"""


def test_an_endpoint_on_a_refused_address_is_named_with_its_table(tmp_path, runner, db):
    """Unless PORTAL_OUTBOUND_ALLOWED_NETWORKS allows it, an endpoint whose URL shows a
    private, loopback or metadata address, or plain http, is refused when the folder is
    read (``flask city import`` names file and table; nothing is written)."""
    cases = {
        "https://169.254.169.254/open311/v2/": "169.254.169.254 is a link-local address",
        "https://10.20.0.5/open311/v2/": "10.20.0.5 is a private address",
        "https://localhost:8443/open311/v2/": "localhost is a loopback address",
        "https://[::ffff:127.0.0.1]/open311/v2/": "::ffff:127.0.0.1 is a loopback address",
        "http://works.portalder.example/open311/v2/": "must be https (plain http only goes",
    }
    for index, (endpoint, fault) in enumerate(cases.items()):
        folder = alder_with(tmp_path / str(index), _endpoint_table(endpoint))
        found = problems(folder)
        assert len(found) == 1 and found[0].startswith(
            f'city.toml: [[open311.outbound]] #1: endpoint "{endpoint}": {fault}'
        ), found
        assert "PORTAL_OUTBOUND_ALLOWED_NETWORKS" in found[0]
    result = runner.invoke(args=["city", "import", str(folder)])
    assert result.exit_code == 1
    assert "city.toml: [[open311.outbound]] #1: endpoint" in result.output
    assert endpoints(db) == {}


def test_an_allowed_network_may_hold_the_endpoint_over_http(tmp_path):
    folder = alder_with(tmp_path, _endpoint_table("http://10.20.0.5/open311/v2/"))
    assert problems(folder)  # not allowed by default
    spec = read_folder(folder, allowed_networks=("10.20.0.0/16",))
    [entry] = spec.city["settings"]["open311"]["outbound"]
    assert entry["endpoint"] == "http://10.20.0.5/open311/v2/"
    # Another private network is still refused.
    with pytest.raises(CityConfigError, match="10.30.0.5 is a private address"):
        read_folder(
            alder_with(tmp_path / "other", _endpoint_table("https://10.30.0.5/open311/v2/")),
            allowed_networks=("10.20.0.0/16",),
        )
