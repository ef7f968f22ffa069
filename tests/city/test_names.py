"""The portal names no city of its own: the demo's name lives only in its folder (and tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = "portal/demo/"

pytestmark = pytest.mark.pure


def test_only_the_demo_folder_and_the_tests_name_riverton():
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    naming = []
    for name in tracked:
        if not name or name.startswith((DEMO, "tests/")):
            continue
        path = ROOT / name
        if path.is_file() and b"riverton" in path.read_bytes().lower():
            naming.append(name)
    assert naming == [], f"these files name the demo city: {naming}"
