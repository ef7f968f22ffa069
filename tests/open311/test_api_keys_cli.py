"""`flask api-keys create | list | update | revoke`: the key printed once works and is stored
hashed, its web origins (checked as the admin form checks them) let a page there read with it,
the list shows every key with its limits and origins, updating changes what the next call
gets, revoking stops it; each change audited; bad input is a clear message with a non-zero
exit status and nothing written."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.core.audit import AuditEntry
from portal.open311.cli import api_keys_cli
from portal.open311.models import ApiKey


def _create(runner, *args):
    return runner.invoke(api_keys_cli, ["create", *args])


def test_create_prints_the_key_once_and_it_works(runner, client, db):
    result = _create(
        runner,
        "--label",
        "FixIt app",
        "--email",
        "Dev@FixIt.example",
        "--rate-limit",
        "10/minute",
        "--read-rate-limit",
        "500/minute",
    )
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert len(raw) == 43
    key = db.scalar(select(ApiKey))
    assert result.output.startswith(f"Created API key {key.id} ({raw[:8]}…) for FixIt app.")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {key.label, key.prefix, key.contact_email}
    assert (key.rate_limit, key.read_rate_limit, key.contact_email) == (
        "10/minute",
        "500/minute",
        "Dev@fixit.example",
    )
    audit = db.scalar(select(AuditEntry).where(AuditEntry.entity == "api_key"))
    assert (audit.action, audit.entity_id, audit.actor_id) == ("create", str(key.id), None)
    # The key reads (and its own limit applies), and nothing in the list shows it again.
    assert client.get("/open311/v2/services.json", headers={"X-Api-Key": raw}).status_code == 200
    listing = runner.invoke(api_keys_cli, ["list"])
    assert raw not in listing.output


def test_list_shows_every_key_and_revoke_stops_one(runner, client, db):
    _create(runner, "--label", "First app")
    second = _create(runner, "--label", "Second app").output.strip().splitlines()[-1]
    first_id, second_id = db.scalars(select(ApiKey.id).order_by(ApiKey.id)).all()
    revoked = runner.invoke(api_keys_cli, ["revoke", str(second_id)])
    assert revoked.exit_code == 0, revoked.output
    assert revoked.output == f"Revoked API key {second_id} (Second app).\n"
    listing = runner.invoke(api_keys_cli, ["list"]).output.splitlines()
    assert re.split(r"\s{2,}", listing[0]) == [
        "ID",
        "LABEL",
        "PREFIX",
        "CREATED",
        "LAST USED",
        "REVOKED",
        "POST LIMIT",
        "READ LIMIT",
        "ORIGINS",
    ]
    rows = [re.split(r"\s{2,}", line.strip()) for line in listing[1:]]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        (str(second_id), "Second app", "-"),
        (str(first_id), "First app", "-"),
    ]
    assert rows[0][5] != "-" and rows[1][5] == "-"
    active = runner.invoke(api_keys_cli, ["list", "--active-only"]).output
    assert "Second app" not in active and "First app" in active
    refused = client.get("/open311/v2/services.json", query_string={"api_key": second})
    assert refused.status_code == 403
    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.entity == "api_key").order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "create", "revoke"]


def test_revoking_an_unknown_or_revoked_key_fails_clearly(runner, db):
    _create(runner, "--label", "App")
    key_id = db.scalar(select(ApiKey.id))
    missing = runner.invoke(api_keys_cli, ["revoke", str(key_id + 100)])
    assert missing.exit_code == 1
    assert f"no API key has the id {key_id + 100}" in missing.output
    assert runner.invoke(api_keys_cli, ["revoke", str(key_id)]).exit_code == 0
    again = runner.invoke(api_keys_cli, ["revoke", str(key_id)])
    assert again.exit_code == 1
    assert f"API key {key_id} (App) was already revoked" in again.output
    assert runner.invoke(api_keys_cli, ["revoke", "abc"]).exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label", "  "], "Invalid value for --label: is required"),
        (["--label", "x" * 121], "Invalid value for --label: is too long"),
        (
            ["--label", "A", "--rate-limit", "lots"],
            "Invalid value for --rate-limit: must be a rate",
        ),
        (
            ["--label", "A", "--read-rate-limit", "0/minute"],
            "Invalid value for --read-rate-limit: must allow at least one request",
        ),
        (["--label", "A", "--email", "not-an-email"], "Invalid value for --email: is not an email"),
        ([], "Missing option '--label'"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(runner, db, args, message):
    result = _create(runner, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert db.scalar(select(func.count()).select_from(ApiKey)) == 0


def test_an_empty_list(runner):
    assert runner.invoke(api_keys_cli, ["list"]).output == "No API keys.\n"


# -- web origins and limits ------------------------------------------------------------------

API = "/open311/v2"
APP = "https://fixit.example"


def _raw(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _cors(client, raw: str, origin: str = APP) -> str | None:
    response = client.get(f"{API}/services.json", headers={"Origin": origin, "X-Api-Key": raw})
    assert response.status_code == 200
    return response.headers.get("Access-Control-Allow-Origin")


def _listed(runner) -> dict[str, list[str]]:
    lines = runner.invoke(api_keys_cli, ["list"]).output.splitlines()
    return {row[1]: row for row in (re.split(r"\s{2,}", line.strip()) for line in lines[1:])}


def test_create_with_origins_lets_a_page_there_read_with_the_key(runner, client, db):
    raw = _raw(
        _create(
            runner,
            "--label",
            "FixIt web",
            "--origin",
            "HTTPS://FixIt.example/",
            "--origin",
            "http://localhost:5173",
            "--origin",
            "https://fixit.example:443",
        )
    )
    key = db.scalar(select(ApiKey))
    # Normalised as the form stores them, duplicates dropped.
    assert key.allowed_origins == "https://fixit.example\nhttp://localhost:5173"
    assert _cors(client, raw) == APP
    assert _cors(client, raw, "http://localhost:5173") == "http://localhost:5173"
    assert _cors(client, raw, "https://other.example") is None
    audit = db.scalar(select(AuditEntry).where(AuditEntry.entity == "api_key"))
    assert audit.after["allowed_origins"] == key.allowed_origins
    row = _listed(runner)["FixIt web"]
    assert row[6:] == ["60/minute", "1000/minute", "https://fixit.example,http://localhost:5173"]


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        (
            ["https://ok.example", "fixit.example/app"],
            "Invalid value for --origin: “fixit.example/app” is not a web origin: write it "
            "like https://app.example.org",
        ),
        (
            ["https://fixit.example/app"],
            "“https://fixit.example/app” is not a web origin",
        ),
        (["*"], "Invalid value for --origin: * (any origin) is only for the city's list"),
        ([f"https://{'a' * 300}.org"], "is too long for a web origin"),
        (
            [f"https://app{n}.example" for n in range(21)],
            "Invalid value for --origin: a key lists at most 20 origins",
        ),
    ],
)
def test_a_bad_origin_is_refused_and_nothing_is_written(runner, db, origins, message):
    args = ["--label", "A"]
    for origin in origins:
        args += ["--origin", origin]
    result = _create(runner, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert db.scalar(select(func.count()).select_from(ApiKey)) == 0


def test_update_replaces_or_clears_the_origins(runner, client, db):
    raw = _raw(_create(runner, "--label", "FixIt web", "--origin", APP))
    key_id = db.scalar(select(ApiKey.id))
    moved = runner.invoke(
        api_keys_cli,
        ["update", str(key_id), "--origin", "https://app.fixit.example", "--origin", APP + "/"],
    )
    assert moved.exit_code == 0, moved.output
    assert moved.output == (
        f"Updated API key {key_id} (FixIt web): post limit 60/minute, read limit 1000/minute, "
        f"web origins: https://app.fixit.example {APP}.\n"
    )
    assert _cors(client, raw, "https://app.fixit.example") == "https://app.fixit.example"
    same = runner.invoke(
        api_keys_cli,
        ["update", str(key_id), "--origin", "https://app.fixit.example/", "--origin", APP],
    )
    assert same.exit_code == 0
    assert (
        same.output
        == f"API key {key_id} (FixIt web) already has these settings: nothing changed.\n"
    )
    cleared = runner.invoke(api_keys_cli, ["update", str(key_id), "--clear-origins"])
    assert cleared.exit_code == 0, cleared.output
    assert cleared.output.endswith("web origins: none.\n")
    assert _cors(client, raw) is None
    assert _listed(runner)["FixIt web"][8] == "-"
    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.entity == "api_key").order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "origins", "origins"]


def test_update_changes_the_limits_and_keeps_what_is_not_given(runner, db):
    _raw(_create(runner, "--label", "App", "--origin", APP, "--rate-limit", "10/minute"))
    key_id = db.scalar(select(ApiKey.id))
    result = runner.invoke(
        api_keys_cli, ["update", str(key_id), "--read-rate-limit", " 200/minute;5000/hour "]
    )
    assert result.exit_code == 0, result.output
    assert _listed(runner)["App"][6:] == ["10/minute", "200/minute;5000/hour", APP]
    runner.invoke(api_keys_cli, ["update", str(key_id), "--rate-limit", "30/minute"])
    assert _listed(runner)["App"][6:8] == ["30/minute", "200/minute;5000/hour"]
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "rates").order_by(AuditEntry.id)
    ).all()
    assert [(e.before["rate_limit"], e.after["rate_limit"]) for e in entry] == [
        ("10/minute", "10/minute"),
        ("10/minute", "30/minute"),
    ]
    assert entry[0].after["read_rate_limit"] == "200/minute;5000/hour"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--read-rate-limit", "0/minute"], 2, "--read-rate-limit: must allow at least one"),
        (["--rate-limit", "lots"], 2, "Invalid value for --rate-limit: must be a rate"),
        (["--rate-limit", " "], 2, "Invalid value for --rate-limit: is required"),
        (["--origin", "app.example"], 2, "“app.example” is not a web origin"),
        (["--origin", APP, "--clear-origins"], 2, "use --origin or --clear-origins, not both"),
        ([], 2, "nothing to change: give --origin, --clear-origins, --rate-limit or"),
    ],
)
def test_bad_updates_change_nothing(runner, db, args, status, message):
    _raw(_create(runner, "--label", "App", "--origin", "https://keep.example"))
    key_id = db.scalar(select(ApiKey.id))
    result = runner.invoke(api_keys_cli, ["update", str(key_id), *args])
    assert result.exit_code == status
    assert message in " ".join(result.output.split())
    db.expire_all()
    key = db.get(ApiKey, key_id)
    assert (key.rate_limit, key.read_rate_limit, key.allowed_origins) == (
        "60/minute",
        "1000/minute",
        "https://keep.example",
    )
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_an_unknown_or_revoked_key_is_not_updated(runner, db):
    _raw(_create(runner, "--label", "App"))
    key_id = db.scalar(select(ApiKey.id))
    missing = runner.invoke(api_keys_cli, ["update", str(key_id + 1), "--clear-origins"])
    assert missing.exit_code == 1
    assert f"no API key has the id {key_id + 1}" in missing.output
    runner.invoke(api_keys_cli, ["revoke", str(key_id)])
    revoked = runner.invoke(api_keys_cli, ["update", str(key_id), "--origin", APP])
    assert revoked.exit_code == 1
    assert f"API key {key_id} (App) is revoked" in revoked.output
    assert db.scalar(select(ApiKey.allowed_origins)) == ""


@pytest.fixture
def limited(settings):
    """An app with the limiter on (memory storage), on committed data (the CLI commits)."""
    from tests.conftest import truncate_all

    application = create_app(replace(settings, ratelimit_enabled=True))
    yield application
    truncate_all(application.extensions["portal.db"])
    application.extensions["portal.db"].dispose()


def test_the_next_read_counts_under_the_updated_read_limit(limited):
    runner, client = limited.test_cli_runner(), limited.test_client()
    raw = _raw(runner.invoke(api_keys_cli, ["create", "--label", "Reader"]))
    first = client.get(f"{API}/services.json", headers={"X-Api-Key": raw})
    assert first.headers["X-RateLimit-Limit"] == "1000"
    key_id = _listed(runner)["Reader"][0]
    result = runner.invoke(api_keys_cli, ["update", key_id, "--read-rate-limit", "2/minute"])
    assert result.exit_code == 0, result.output
    # A new limit is a new count (the limiter keeps one per rate): two more reads, no third.
    for path in ("discovery.json", "requests.json"):
        again = client.get(f"{API}/{path}", headers={"X-Api-Key": raw})
        assert again.status_code == 200
        assert again.headers["X-RateLimit-Limit"] == "2"
    assert client.get(f"{API}/services.xml", headers={"X-Api-Key": raw}).status_code == 429
