"""Each payload in tests/fixtures/ is an exact copy of an example in its seed page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import fixtures

CANDIDATES = [
    Path(__file__).resolve().parents[1].parent / "shared" / "seeds",  # CI: shared/ beside the clone
    Path("/work/shared/seeds"),
]
SEEDS = next((p for p in CANDIDATES if p.is_dir()), None)

FIXTURES = {
    "seed000_top_performers_roas.json": "000",
    "seed000_top_performers_422.json": "000",
    "seed001_ads_content_patch_response.json": "001",
    "seed001_ads_content_patch_request.json": "001",
    "seed001_ads_content_400.json": "001",
    "seed002_content_list.json": "002",
    "seed003_project_create_request.json": "003",
}


def seed_text(number: str) -> str:
    if SEEDS is None:
        pytest.skip("shared/seeds is not beside the repository")
    found = sorted(SEEDS.glob(f"{number}_*.txt"))
    assert len(found) == 1, f"expected one seed {number}_*.txt in {SEEDS}, found {found}"
    return found[0].read_text(encoding="utf-8")


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_the_folder_holds_exactly_these_fixtures():
    assert fixtures.names() == sorted(FIXTURES)


@pytest.mark.parametrize(("name", "seed"), sorted(FIXTURES.items()))
def test_every_string_of_the_fixture_is_in_its_seed(name, seed):
    text = seed_text(seed)
    missing = [s for s in strings(fixtures.load(name)) if s not in text]
    assert not missing, f"{name}: not in seed {seed}: {missing}"


@pytest.mark.parametrize(("name", "seed"), sorted(FIXTURES.items()))
def test_the_fixture_is_copied_verbatim(name, seed):
    copied = fixtures.path(name).read_text(encoding="utf-8").rstrip("\n")
    assert copied in seed_text(seed), f"{name} is not a character-for-character copy of seed {seed}"


def test_the_seeds_quirks_are_kept():
    """The examples are incomplete on purpose; nobody should 'fix' them here."""
    rows = fixtures.load("seed000_top_performers_roas")["items"]
    assert [r["adsContentId"] for r in rows] == ["adc_6f5d4c3b...", "adc_6f5d4c3b..."]
    assert fixtures.load("seed001_ads_content_400")["error"]["requestId"] == "req_..."
    assert fixtures.load("seed002_content_list")["items"][0]["id"] == "cnt_7d18b9a1..."


def test_load_gives_a_fresh_copy():
    first = fixtures.load("seed003_project_create_request")
    first["name"] = "changed"
    assert fixtures.load("seed003_project_create_request.json")["name"] == "Acme Fitness"
