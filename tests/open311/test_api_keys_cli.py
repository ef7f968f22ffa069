"""`flask api-keys create | list | revoke`: the key printed once works and is stored hashed,
the list shows every key, revoking stops it; each change audited; bad input is a clear
message with a non-zero exit status and nothing written."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select

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
    assert listing[0].split() == ["ID", "LABEL", "PREFIX", "CREATED", "LAST", "USED", "REVOKED"]
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
