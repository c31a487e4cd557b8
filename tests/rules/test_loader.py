"""The dated rules data and its validation (SPEC §3, §5, §13)."""
from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from housingcredit import clock
from housingcredit.rules import RulesError, default_rules, load_rules, region_ancestry

DEFAULT_FILE = clock.CONFIG_DIR / "rules" / "2018-12-01-hubei.yaml"
BASE = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))

WUHAN_ARREARS = {"code": "HB06-420100-01", "parent": "HB06", "clause": "武汉市细则 第1条", "title_zh": "拖欠租金（武汉细化）",
                 "title_en": "Rent arrears (Wuhan refinement)", "deduct": 20, "tier": "moderate", "use_months": 12}
JIANGAN_OTHER = {"code": "HB11-420102-01", "parent": "HB11", "clause": "江岸区细则 第2条", "title_zh": "其他失信行为（江岸）",
                 "title_en": "Other behaviour (Jiang'an)", "deduct": 5, "tier": "mild", "use_months": 6}


def write_version(directory: Path, mutate=None, filename: str | None = None, **top) -> Path:
    """A copy of the default version, changed by `mutate(data)` and the top-level keys given."""
    data = copy.deepcopy(BASE)
    data.update(top)
    if mutate:
        mutate(data)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (filename or f"{data['effective']}.yaml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def item(data: dict, code: str) -> dict:
    return next(i for i in data["catalogue"] if i["code"] == code)


# ---- the default data ----

SPEC_3_TABLE = {  # code: (deduct, tier, use_months)
    "HB01": (20, "moderate", 12), "HB02": (50, "severe", 36), "HB03": (10, "mild", 6), "HB04": (30, "severe", 36),
    "HB05": (20, "moderate", 12), "HB06": (15, "moderate", 12), "HB07": (10, "mild", 6), "HB08": (5, "mild", 6),
    "HB09": (30, "severe", 36), "HB10": (20, "moderate", 12),
}


def test_spec_3_default_catalogue_matches_the_table():
    version = default_rules().version_at(date(2026, 1, 1))
    got = {b.code: (b.deduct, b.tier, b.use_months) for b in version.catalogue_for("420102")}
    assert got == SPEC_3_TABLE
    assert all(b.clause.startswith("HB 四(") and b.title_zh and b.title_en for b in version.provincial)


def test_spec_3_hb11_is_only_a_parent():
    version = default_rules().version_at(date(2026, 1, 1))
    with pytest.raises(RulesError, match="HB11"):
        version.behaviour("HB11")


def test_spec_5_tier_bands():
    version = default_rules().version_at(date(2026, 1, 1))
    assert [version.tier_for_score(s) for s in (100, 99, 90, 89, 71, 70, 0)] == \
        ["good", "mild", "mild", "moderate", "moderate", "severe", "severe"]


def test_default_sections_carry_their_clauses():
    version = default_rules().version_at(date(2026, 1, 1))
    assert version.watch.window_months == 12 and version.watch.clauses["period_months"].startswith("HB 六")
    assert [g.clause for g in version.rectification] == ["HB 六(一)", "HB 六(二)", "HB 六(三)", "HB 六(四)"]
    assert len(version.sources) == 5
    assert version.repair.min_publicity_months == {"mild": 0, "moderate": 3, "severe": 12}
    # SPEC §8: the watch list itself is not a measure
    assert [m.code for m in version.measures_for_tier("moderate")] == ["written_warning", "quarterly_inspection",
                                                                      "no_swap_or_upgrade"]
    assert version.measures_for_list("punishment")


def test_region_ancestry_goes_county_prefecture_province():
    assert region_ancestry("420102") == ("420102", "420100", "420000")
    assert region_ancestry("420100") == ("420100", "420000")
    assert region_ancestry("420000") == ("420000",)
    with pytest.raises(RulesError):
        region_ancestry("4201")


# ---- dated versions (SPEC §13) ----

def test_spec_13_version_at_picks_the_newest_on_or_before(tmp_path):
    write_version(tmp_path)
    write_version(tmp_path, lambda d: item(d, "HB06").update(deduct=20), effective=date(2026, 1, 1),
                  name="hubei-2026")
    book = load_rules(tmp_path)
    assert [v.name for v in book.versions] == ["hubei-2018", "hubei-2026"]
    assert book.version_at(date(2025, 12, 31)).behaviour("HB06").deduct == 15
    assert book.version_at(date(2026, 1, 1)).behaviour("HB06").deduct == 20
    with pytest.raises(RulesError, match="no rules version"):
        book.version_at(date(2018, 11, 30))


def test_spec_13_a_draft_replaces_the_version_of_its_date(tmp_path):
    write_version(tmp_path / "rules")
    draft = write_version(tmp_path / "drafts", lambda d: item(d, "HB08").update(deduct=8), name="what-if")
    book = load_rules(tmp_path / "rules", draft=draft)
    assert [v.name for v in book.versions] == ["what-if"]
    assert book.version_at(date(2026, 1, 1)).behaviour("HB08").deduct == 8
    added = write_version(tmp_path / "drafts", effective=date(2027, 1, 1), name="draft-2027")
    assert len(load_rules(tmp_path / "rules", draft=added).versions) == 2


# ---- refusals ----

def test_refuses_two_versions_on_the_same_date(tmp_path):
    write_version(tmp_path, filename="a.yaml")
    write_version(tmp_path, filename="b.yaml", name="other")
    with pytest.raises(RulesError, match="same day"):
        load_rules(tmp_path)


def test_spec_5_refuses_a_deduction_outside_its_tier_band(tmp_path):
    write_version(tmp_path, lambda d: item(d, "HB06").update(deduct=35))
    with pytest.raises(RulesError, match=r"HB06.*outside the moderate band 11–29"):
        load_rules(tmp_path)


def test_refuses_a_local_item_with_an_unknown_parent(tmp_path):
    write_version(tmp_path, local={"420100": [dict(WUHAN_ARREARS, parent="HB99")]})
    with pytest.raises(RulesError, match=r"HB06-420100-01.*unknown parent 'HB99'"):
        load_rules(tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"deduct": 12}, "deduct 12 loosens"),
    ({"tier": "mild", "deduct": 10}, "deduct 10 loosens"),
    ({"tier": "mild", "deduct": 15}, "tier mild is milder than its parent HB06"),
    ({"tier": "severe", "deduct": 25}, "outside the severe band"),
    ({"use_months": 6}, "use_months 6 loosens"),
])
def test_spec_3_refuses_a_local_item_loosening_its_provincial_parent(tmp_path, change, message):
    write_version(tmp_path, local={"420100": [dict(WUHAN_ARREARS, **change)]})
    with pytest.raises(RulesError, match=message):
        load_rules(tmp_path)


def test_refuses_a_local_item_under_hb11_outside_its_band(tmp_path):
    write_version(tmp_path, local={"420102": [dict(JIANGAN_OTHER, deduct=40)]})
    with pytest.raises(RulesError, match="HB11-420102-01.*outside the mild band"):
        load_rules(tmp_path)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: item(d, "HB03").pop("deduct"), "HB03: missing required field 'deduct'"),
    (lambda d: item(d, "HB03").update(tier="light"), "tier must be one of"),
    (lambda d: item(d, "HB03").update(use_months=-6), "must not be negative"),
    (lambda d: d["procedure"]["listing_years"].update(value=-3), "must not be negative"),
    (lambda d: d["watch"]["period_months"].pop("clause"), "missing required field 'clause'"),
    (lambda d: d.pop("effective"), "missing required field 'effective'"),
    (lambda d: d["measures"]["tiers"].update(mild=["nap"]), "unknown measure 'nap'"),
    (lambda d: d.update(catalog=[]), "unknown section"),
    (lambda d: d["tiers"]["moderate"].update(score_min=75), "no gap or overlap"),
    (lambda d: d["tiers"]["moderate"].update(deduct_max=35), "would not land the household in this tier"),
])
def test_refuses_malformed_data_naming_file_and_item(tmp_path, mutate, message):
    path = write_version(tmp_path, mutate, filename="version.yaml")
    with pytest.raises(RulesError, match=message) as error:
        load_rules(tmp_path)
    assert str(path) in str(error.value)


# ---- local refinements ----

def test_spec_3_local_refinement_resolves_for_a_county_under_its_prefecture(tmp_path):
    write_version(tmp_path, local={"420100": [WUHAN_ARREARS], "420102": [JIANGAN_OTHER]})
    version = load_rules(tmp_path).version_at(date(2026, 1, 1))

    wuhan = version.behaviour("HB06-420100-01", "420102")
    assert (wuhan.parent, wuhan.region_code, wuhan.deduct, wuhan.min_publicity_months) == ("HB06", "420100", 20, 3)
    assert version.behaviour("HB11-420102-01", "420102").tier == "mild"
    assert version.behaviour("HB06", "420102").deduct == 15
    with pytest.raises(RulesError):
        version.behaviour("HB11-420102-01", "420103")  # Jiang'an's item is not Jianghan's
    with pytest.raises(RulesError):
        version.behaviour("HB06-420100-01")  # a local item needs a region

    codes = [b.code for b in version.catalogue_for("420102")]
    assert codes.index("HB06-420100-01") == codes.index("HB06") + 1
    assert codes[-1] == "HB11-420102-01" and "HB11" not in codes
    assert "HB11-420102-01" not in [b.code for b in version.catalogue_for("420103")]
    assert "HB06-420100-01" not in [b.code for b in version.catalogue_for("420200")]
