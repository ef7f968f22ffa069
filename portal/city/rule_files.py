"""Read ``routing.toml`` (routing rules) and ``templates.toml`` (response templates).

Both are arrays of tables; the format is in ``docs/city-configuration.md``. Reading checks each
file and names every problem; what a rule or template names (categories, areas, departments)
is checked against the rest of the folder by ``portal.city.folder``.
"""

from __future__ import annotations

from typing import Any

from portal.casework.placeholders import placeholder_problem
from portal.catalogue.loader import Checker
from portal.requests.models import CHANNELS
from portal.routing.rules import parse_keywords

_RULE_KEYS = {"name", "category", "area", "channel", "keywords", "department", "active", "position"}
_TEMPLATE_KEYS = {"code", "title", "body", "department", "active", "translations", "position"}


def read_rules(data: dict[str, Any], check: Checker) -> list[dict[str, Any]]:
    check.keys("the file", data, {"rules"})
    rules = []
    for index, raw in enumerate(check.entries("file", data, "rules")):
        where = f'rule "{raw.get("name", "?")}"'
        check.keys(where, raw, _RULE_KEYS)
        rule: dict[str, Any] = {
            "name": check.text(where, raw, "name", required=True, max_len=120),
            "position": check.whole(where, raw, "position", (index + 1) * 10),
            "active": check.flag(where, raw, "active", True),
            "department": check.code(where, raw.get("department"), what="department"),
        }
        for key in ("category", "area"):
            rule[key] = check.code(where, raw[key], what=key) if raw.get(key) else None
        channel = raw.get("channel")
        if channel is not None and channel not in CHANNELS:
            check.add(
                where, f"channel {channel!r} is unknown (expected one of {', '.join(CHANNELS)})"
            )
        rule["channel"] = channel if channel in CHANNELS else None
        keywords = raw.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            check.add(where, '"keywords" must be a list of words or phrases')
            keywords = []
        rule["keywords"] = ", ".join(parse_keywords(",".join(keywords)))
        if len(rule["keywords"]) > 400:
            check.add(where, '"keywords" are longer than 400 characters in all')
        rules.append(rule)
    check.unique("rule", [r["name"] for r in rules])
    return rules


def read_templates(data: dict[str, Any], check: Checker) -> list[dict[str, Any]]:
    check.keys("the file", data, {"templates"})
    templates = []
    for index, raw in enumerate(check.entries("file", data, "templates")):
        where = f'template "{raw.get("code", "?")}"'
        check.keys(where, raw, _TEMPLATE_KEYS)
        department = raw.get("department")
        template: dict[str, Any] = {
            "code": check.code(where, raw.get("code")),
            "title": check.text(where, raw, "title", required=True, max_len=120),
            "body": check.text(where, raw, "body", required=True, max_len=5000),
            "department": check.code(where, department, what="department")
            if department is not None
            else None,
            "active": check.flag(where, raw, "active", True),
            "position": check.whole(where, raw, "position", index),
            "translations": check.translations(where, raw, {"title", "body"}),
        }
        for text in [
            template["body"],
            *(t.get("body", "") for t in template["translations"].values()),
        ]:
            problem = placeholder_problem(text)
            if problem:
                check.add(where, problem)
        templates.append(template)
    check.unique("template", [t["code"] for t in templates])
    return templates
