"""Which departments are served by an outside Open311 endpoint: city.toml's
``[[open311.outbound]]`` tables, as imported into the city profile (checked there)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from portal.city.models import PROFILE_ID, CityProfile


@dataclass(frozen=True)
class Endpoint:
    department: str
    name: str
    endpoint: str
    jurisdiction_id: str = ""
    api_key_env: str = ""
    service_code: str = ""
    service_codes: dict[str, str] = field(default_factory=dict, hash=False)

    def code_for(self, category_code: str) -> str:
        """Their service code for our category ("" when none is configured)."""
        return self.service_codes.get(category_code, self.service_code)


def endpoints(session: Session) -> dict[str, Endpoint]:
    """The configured endpoints by department code (none when the city has set none)."""
    profile = session.get(CityProfile, PROFILE_ID)
    open311 = ((profile.settings or {}) if profile else {}).get("open311") or {}
    found: dict[str, Endpoint] = {}
    for entry in open311.get("outbound") or []:
        if isinstance(entry, dict) and entry.get("department") and entry.get("endpoint"):
            found[entry["department"]] = Endpoint(
                department=entry["department"],
                name=entry.get("name") or entry["endpoint"],
                endpoint=entry["endpoint"],
                jurisdiction_id=entry.get("jurisdiction_id", ""),
                api_key_env=entry.get("api_key_env", ""),
                service_code=entry.get("service_code", ""),
                service_codes=dict(entry.get("service_codes") or {}),
            )
    return found


def api_key(env_name: str, environ: Mapping[str, str] | None = None) -> str:
    """The API key from the environment variable the configuration names ("" when unset)."""
    if not env_name:
        return ""
    return (os.environ if environ is None else environ).get(env_name, "").strip()
