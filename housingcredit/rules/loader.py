"""Loading and validating the dated rules data (规则版本) in config/rules/.

Each YAML file there is one complete version with an `effective` date, OpenFisca-style: a lookup for a date
returns the newest version effective on or before it. Every number carries its `clause`. The loader refuses,
with a message naming file and item, anything that would break the policy: an unknown parent, a local item
loosening a provincial one, a deduction outside its tier's band, two versions on the same date, a missing field,
an unknown tier, a negative number. See config/rules/*.yaml for the layout.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from .. import clock

BEHAVIOUR_TIERS = ("mild", "moderate", "severe")  # mildest first: the order "not milder" is judged by
HOUSEHOLD_TIERS = ("good",) + BEHAVIOUR_TIERS
LISTS = ("watch", "punishment")  # the watch entry's measures; the listing's (joint-punishment list) measures
# The businesses a credit check is asked about (SPEC §8); a measure names the ones it restricts.
BUSINESSES = ("application", "allocation", "renewal", "swap", "subsidy", "exit", "other")
_TOP_LEVEL = {"effective", "name", "title_zh", "title_en", "base_score", "tiers", "catalogue", "watch", "procedure",
              "rectification", "rectification_deadline", "objection", "repair", "entry", "sources", "measures",
              "local", "disclosure"}
_REGION = re.compile(r"^\d{6}$")


class RulesError(ValueError):
    """The rules data is invalid, or a lookup asks for something it does not define."""


@dataclass(frozen=True)
class Behaviour:
    """One recordable dishonest behaviour (失信行为) as a version defines it, local refinements resolved."""

    code: str
    parent: str | None
    clause: str
    title_zh: str
    title_en: str
    deduct: int | None
    tier: str | None
    use_months: int | None
    repairable: bool
    version: str
    region_code: str | None = None
    min_publicity_months: int | None = None  # for repair (LN 第十一条), from the version's repair section
    recordable: bool = True  # False only for a pure parent such as HB11

    def counts_through(self, determined: date) -> date:
        """The last day of the use period of a record determined on D: `D + use_months` (SPEC §3 periods)."""
        return clock.add_months(determined, self.use_months)


@dataclass(frozen=True)
class TierBand:
    """A household tier (信用档次) as a score band, and for behaviour tiers the band of one behaviour's deduction."""

    name: str
    clause: str
    title_zh: str
    title_en: str
    score_min: int
    score_max: int
    deduct_min: int | None = None
    deduct_max: int | None = None


@dataclass(frozen=True)
class Item:
    """A coded list entry with its clause: a collection source, a rectification ground, a measure."""

    code: str
    clause: str
    title_zh: str
    title_en: str
    years: int | None = None
    restricts: tuple[str, ...] = ()  # for a measure: the businesses it restricts (SPEC §8)


@dataclass(frozen=True)
class WatchRules:
    window_months: int
    period_months: int
    clauses: Mapping[str, str]


@dataclass(frozen=True)
class ProcedureRules:
    response_working_days: int
    publicity_working_days: int
    listing_years: int
    clauses: Mapping[str, str]


@dataclass(frozen=True)
class RouteRule:
    """A route that opens a joint-punishment procedure (HB 六) and the clause it stands on."""

    code: str
    clause: str


@dataclass(frozen=True)
class ApplicationBan:
    """The ban on new applications after a listing (住房城乡建设部令第11号): `measure` from L through L + years."""

    measure: str
    years: int
    clause: str


@dataclass(frozen=True)
class DisclosureRules:
    """Which behaviour tiers are disclosed (公开); the others are collected only (MOHURD 2(2))."""

    tiers: tuple[str, ...]
    clause: str


@dataclass(frozen=True)
class RectificationDeadlineRules:
    """How far ahead a rectification order's deadline (责令限期…) may be set: after the order's date, at most
    `max_months` months after it."""

    max_months: int
    clauses: Mapping[str, str]


@dataclass(frozen=True)
class ObjectionRules:
    due_working_days: int
    clauses: Mapping[str, str]


@dataclass(frozen=True)
class RepairRules:
    min_publicity_months: Mapping[str, int]
    acceptance_working_days: int
    decision_working_days: int
    extension_working_days: int
    clauses: Mapping[str, str]


@dataclass(frozen=True)
class EntryRules:
    late_after_working_days: int
    clauses: Mapping[str, str]


def region_ancestry(region_code: str) -> tuple[str, ...]:
    """The region and the regions above it: 420102 → (420102, 420100, 420000)."""
    if not isinstance(region_code, str) or not _REGION.match(region_code):
        raise RulesError(f"region code must be 6 digits, got {region_code!r}")
    chain = (region_code, region_code[:4] + "00", region_code[:2] + "0000")
    return tuple(dict.fromkeys(chain))


@dataclass(frozen=True, eq=False)  # identity equality: hashable, usable as a cache key
class RuleVersion:
    """One dated version of the rules (规则版本)."""

    name: str
    effective: date
    path: str
    title_zh: str
    title_en: str
    base_score: int
    tiers: Mapping[str, TierBand]
    provincial: tuple[Behaviour, ...]
    local: Mapping[str, tuple[Behaviour, ...]]
    watch: WatchRules
    procedure: ProcedureRules
    objection: ObjectionRules
    repair: RepairRules
    entry: EntryRules
    rectification: tuple[Item, ...]
    rectification_deadline: RectificationDeadlineRules
    sources: tuple[Item, ...]
    measures: Mapping[str, Item]
    measures_by_tier: Mapping[str, tuple[str, ...]]
    measures_by_list: Mapping[str, tuple[str, ...]]
    clauses: Mapping[str, str] = field(default_factory=dict)
    procedure_routes: Mapping[str, RouteRule] = field(default_factory=dict)
    application_ban: ApplicationBan | None = None
    disclosure: DisclosureRules = DisclosureRules(tiers=("moderate", "severe"), clause="MOHURD 2(2)")
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def behaviour(self, code: str, region_code: str | None = None) -> Behaviour:
        """The behaviour `code` as recordable in `region_code` (local refinements of it and its ancestors)."""
        key = (code, region_code)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(code, region_code)
        return found

    def _resolve(self, code: str, region_code: str | None) -> Behaviour:
        for b in self.provincial:
            if b.code == code:
                if not b.recordable:
                    raise RulesError(f"{code} has no points of its own in {self.name}: record one of its local "
                                     f"sub-items")
                return b
        for region in region_ancestry(region_code) if region_code else ():
            for b in self.local.get(region, ()):
                if b.code == code:
                    return b
        raise RulesError(f"behaviour {code} is not defined in rules version {self.name} for region {region_code}")

    def catalogue_for(self, region_code: str | None) -> list[Behaviour]:
        """The recordable behaviours in a region: provincial items with each one's local sub-items after it."""
        order = {b.code: i for i, b in enumerate(self.provincial)}
        items = [b for b in self.provincial if b.recordable]
        for region in region_ancestry(region_code) if region_code else ():
            items.extend(self.local.get(region, ()))
        return sorted(items, key=lambda b: (order[b.parent or b.code], b.parent is not None, b.code))

    def tier_for_score(self, score: int) -> str:
        """'good', 'mild', 'moderate' or 'severe' for a household score (HB 五)."""
        for band in self.tiers.values():
            if band.score_min <= score <= band.score_max:
                return band.name
        raise RulesError(f"score {score} falls in no tier band of {self.name}")

    def measures_for_tier(self, tier: str) -> tuple[Item, ...]:
        return tuple(self.measures[c] for c in self.measures_by_tier.get(tier, ()))

    def measures_for_list(self, list_name: str) -> tuple[Item, ...]:
        """The measures of a list. For "punishment" the listing's measures followed by the application ban, which
        is also in force on every day of the listing (the engine gives the ban its own, longer term)."""
        items = tuple(self.measures[c] for c in self.measures_by_list.get(list_name, ()))
        if list_name == "punishment" and self.application_ban is not None:
            items += (self.measures[self.application_ban.measure],)
        return items

    def listing_measures(self) -> tuple[Item, ...]:
        """The listing's own measures, from L through the listing's last day (SPEC §8), without the ban."""
        return tuple(self.measures[c] for c in self.measures_by_list.get("punishment", ()))

    def list_only_measures(self) -> frozenset[str]:
        """Measures that follow only from a listing, never from a tier: the listing's and the application ban."""
        codes = set(self.measures_by_list.get("punishment", ()))
        if self.application_ban is not None:
            codes.add(self.application_ban.measure)
        return frozenset(codes)

    def is_disclosed(self, tier: str | None) -> bool:
        """Whether records of this behaviour tier are disclosed; mild ones are collected only (MOHURD 2(2))."""
        return tier in self.disclosure.tiers

    def route_clause(self, route: str, default: str = "HB 六") -> str:
        """The clause a procedure route stands on (rules data), or `default` for an unknown route."""
        found = self.procedure_routes.get(route)
        return found.clause if found else default


@dataclass(frozen=True, eq=False)
class RuleBook:
    """All versions, oldest first."""

    versions: tuple[RuleVersion, ...]
    _dates: tuple[date, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "versions", tuple(sorted(self.versions, key=lambda v: v.effective)))
        object.__setattr__(self, "_dates", tuple(v.effective for v in self.versions))

    def version_at(self, d: date) -> RuleVersion:
        """The newest version effective on or before d."""
        i = bisect.bisect_right(self._dates, d) - 1
        if i < 0:
            raise RulesError(f"no rules version is in force on {d.isoformat()}")
        return self.versions[i]

    def behaviour_on(self, code: str, region_code: str | None, determined: date) -> Behaviour:
        """The behaviour as the version in force on its determination date defines it (SPEC §13)."""
        return self.version_at(determined).behaviour(code, region_code)


# ---- parsing and validation --------------------------------------------------------------------------------

class _Reader:
    """Reads one file's mapping, raising RulesError that names the file and the item."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str):
        raise RulesError(f"{self.path}: {where}: {message}")

    def get(self, data: Any, key: str, where: str, kind: type | tuple, required: bool = True, default=None):
        if not isinstance(data, dict):
            self.fail(where, "must be a mapping")
        if key not in data or data[key] is None:
            if required:
                self.fail(where, f"missing required field '{key}'")
            return default
        value = data[key]
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(where, f"'{key}' must be a whole number, got {value!r}")
            if value < 0:
                self.fail(where, f"'{key}' must not be negative, got {value}")
        elif kind is date:
            if isinstance(value, datetime) or not isinstance(value, date):
                self.fail(where, f"'{key}' must be a date (YYYY-MM-DD), got {value!r}")
        elif not isinstance(value, kind):
            self.fail(where, f"'{key}' has the wrong type: {value!r}")
        elif kind is str and not value.strip():
            self.fail(where, f"'{key}' must not be empty")
        return value

    def tier(self, data: dict, where: str) -> str:
        value = self.get(data, "tier", where, str)
        if value not in BEHAVIOUR_TIERS:
            self.fail(where, f"tier must be one of {', '.join(BEHAVIOUR_TIERS)}, got {value!r}")
        return value

    def params(self, data: Any, section: str, names: tuple[str, ...]) -> dict:
        """A section of `{value: n, clause: "..."}` numbers → keyword arguments with a `clauses` mapping."""
        block = self.get({section: data}, section, section, dict)
        out, clauses = {}, {}
        for name in names:
            where = f"{section}.{name}"
            entry = self.get(block, name, section, dict)
            out[name] = self.get(entry, "value", where, int)
            clauses[name] = self.get(entry, "clause", where, str)
        out["clauses"] = clauses
        return out

    def items(self, data: Any, section: str, businesses: bool = False) -> tuple[Item, ...]:
        if not isinstance(data, list):
            self.fail(section, "must be a list")
        seen, out = set(), []
        for i, entry in enumerate(data):
            where = f"{section}[{i}]"
            code = self.get(entry, "code", where, str)
            where = f"{section} {code}"
            if code in seen:
                self.fail(where, "duplicate code")
            seen.add(code)
            restricts = ()
            if businesses:
                restricts = self.get(entry, "restricts", where, list, required=False, default=[])
                unknown = [b for b in restricts if b not in BUSINESSES]
                if unknown:
                    self.fail(where, f"restricts unknown business(es) {unknown!r}: one of {', '.join(BUSINESSES)}")
                restricts = tuple(restricts)
            out.append(Item(code=code, clause=self.get(entry, "clause", where, str),
                            title_zh=self.get(entry, "title_zh", where, str),
                            title_en=self.get(entry, "title_en", where, str),
                            years=self.get(entry, "years", where, int, required=False), restricts=restricts))
        return tuple(out)


def _parse_version(path: Path) -> RuleVersion:
    r = _Reader(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        r.fail("file", "must be a mapping")
    unknown = set(data) - _TOP_LEVEL
    if unknown:
        r.fail("file", f"unknown section(s): {', '.join(sorted(map(str, unknown)))}")
    name = r.get(data, "name", "file", str)
    effective = r.get(data, "effective", "file", date)
    base = r.params({"base_score": data.get("base_score")}, "file", ("base_score",))
    base_score = base["base_score"]

    tiers = _parse_tiers(r, r.get(data, "tiers", "file", dict), base_score)
    repair = RepairRules(**_parse_repair(r, data.get("repair")))
    provincial = _parse_catalogue(r, r.get(data, "catalogue", "file", list), name, tiers, repair)
    local = _parse_local(r, data.get("local") or {}, name, tiers, repair, provincial)
    measures, by_tier, by_list, ban = _parse_measures(r, r.get(data, "measures", "file", dict))
    return RuleVersion(
        name=name, effective=effective, path=str(path),
        title_zh=r.get(data, "title_zh", "file", str, required=False, default=name),
        title_en=r.get(data, "title_en", "file", str, required=False, default=name),
        base_score=base_score, tiers=tiers, provincial=provincial, local=local,
        watch=WatchRules(**r.params(data.get("watch"), "watch", ("window_months", "period_months"))),
        procedure=ProcedureRules(**r.params(data.get("procedure"), "procedure",
                                            ("response_working_days", "publicity_working_days", "listing_years"))),
        objection=ObjectionRules(**r.params(data.get("objection"), "objection", ("due_working_days",))),
        repair=repair,
        entry=EntryRules(**r.params(data.get("entry"), "entry", ("late_after_working_days",))),
        rectification=r.items(data.get("rectification"), "rectification"),
        rectification_deadline=_parse_rectification_deadline(r, data.get("rectification_deadline")),
        sources=r.items(data.get("sources"), "sources"),
        measures=measures, measures_by_tier=by_tier, measures_by_list=by_list,
        clauses={"base_score": base["clauses"]["base_score"]},
        procedure_routes=_parse_routes(r, data.get("procedure")), application_ban=ban,
        disclosure=_parse_disclosure(r, data.get("disclosure")),
    )


def _parse_routes(r: _Reader, data: Any) -> dict[str, RouteRule]:
    routes = r.get(data, "routes", "procedure", dict)
    return {str(code): RouteRule(code=str(code), clause=r.get(entry, "clause", f"procedure.routes.{code}", str))
            for code, entry in routes.items()}


def _parse_disclosure(r: _Reader, data: Any) -> DisclosureRules:
    block = r.get({"disclosure": data}, "disclosure", "file", dict)
    tiers = r.get(block, "tiers", "disclosure", list)
    for t in tiers:
        if t not in BEHAVIOUR_TIERS:
            r.fail("disclosure.tiers", f"must be behaviour tiers ({', '.join(BEHAVIOUR_TIERS)}), got {t!r}")
    if "mild" in tiers:  # MOHURD 2(2): mild items are collected only, never disclosed
        r.fail("disclosure.tiers", "mild items are collected only and never disclosed (MOHURD 2(2))")
    return DisclosureRules(tiers=tuple(tiers), clause=r.get(block, "clause", "disclosure", str))


def _parse_rectification_deadline(r: _Reader, data: Any) -> RectificationDeadlineRules:
    params = r.params(data, "rectification_deadline", ("max_months",))
    if params["max_months"] < 1:
        r.fail("rectification_deadline.max_months", "must be at least 1")
    return RectificationDeadlineRules(**params)


def _parse_tiers(r: _Reader, data: dict, base_score: int) -> dict[str, TierBand]:
    if set(data) != set(HOUSEHOLD_TIERS):
        r.fail("tiers", f"must define exactly {', '.join(HOUSEHOLD_TIERS)}")
    bands = {}
    for name in HOUSEHOLD_TIERS:
        where, entry = f"tiers.{name}", data[name]
        behaviour_tier = name in BEHAVIOUR_TIERS
        band = TierBand(name=name, clause=r.get(entry, "clause", where, str),
                        title_zh=r.get(entry, "title_zh", where, str), title_en=r.get(entry, "title_en", where, str),
                        score_min=r.get(entry, "score_min", where, int), score_max=r.get(entry, "score_max", where, int),
                        deduct_min=r.get(entry, "deduct_min", where, int, required=behaviour_tier),
                        deduct_max=r.get(entry, "deduct_max", where, int, required=behaviour_tier))
        if band.score_min > band.score_max or (behaviour_tier and band.deduct_min > band.deduct_max):
            r.fail(where, "a band's minimum is above its maximum")
        bands[name] = band
    # The score bands, best first, must cover base_score down to 0 without gap or overlap.
    expected_max = base_score
    for name in HOUSEHOLD_TIERS:
        if bands[name].score_max != expected_max:
            r.fail(f"tiers.{name}", f"score band must start at {expected_max} (no gap or overlap)")
        expected_max = bands[name].score_min - 1
    if expected_max != -1:
        r.fail("tiers.severe", "the lowest score band must reach 0")
    for name in BEHAVIOUR_TIERS:  # one behaviour alone lands the household in its own tier (SPEC §5)
        band = bands[name]
        if not band.score_min <= base_score - band.deduct_max <= base_score - band.deduct_min <= band.score_max:
            r.fail(f"tiers.{name}", "one behaviour of this tier alone would not land the household in this tier")
    return bands


def _parse_repair(r: _Reader, data: Any) -> dict:
    out = r.params(data, "repair", ("acceptance_working_days", "decision_working_days", "extension_working_days"))
    months = r.get(data, "min_publicity_months", "repair", dict)
    out["clauses"]["min_publicity_months"] = r.get(months, "clause", "repair.min_publicity_months", str)
    out["min_publicity_months"] = {t: r.get(months, t, "repair.min_publicity_months", int) for t in BEHAVIOUR_TIERS}
    return out


def _check_band(r: _Reader, where: str, deduct: int, tier: str, tiers: Mapping[str, TierBand]) -> None:
    band = tiers[tier]
    if not band.deduct_min <= deduct <= band.deduct_max:
        r.fail(where, f"deduct {deduct} is outside the {tier} band {band.deduct_min}–{band.deduct_max}")


def _parse_catalogue(r: _Reader, data: list, version: str, tiers, repair: RepairRules) -> tuple[Behaviour, ...]:
    out, seen = [], set()
    for i, entry in enumerate(data):
        code = r.get(entry, "code", f"catalogue[{i}]", str)
        where = f"catalogue item {code}"
        if code in seen:
            r.fail(where, "duplicate code")
        seen.add(code)
        common = dict(code=code, parent=None, clause=r.get(entry, "clause", where, str),
                      title_zh=r.get(entry, "title_zh", where, str), title_en=r.get(entry, "title_en", where, str),
                      version=version)
        if r.get(entry, "parent_only", where, bool, required=False, default=False):
            out.append(Behaviour(**common, deduct=None, tier=None, use_months=None, repairable=True,
                                 recordable=False))
            continue
        tier = r.tier(entry, where)
        deduct = r.get(entry, "deduct", where, int)
        _check_band(r, where, deduct, tier, tiers)
        out.append(Behaviour(**common, deduct=deduct, tier=tier, use_months=r.get(entry, "use_months", where, int),
                             repairable=r.get(entry, "repairable", where, bool),
                             min_publicity_months=repair.min_publicity_months[tier]))
    return tuple(out)


def _parse_local(r: _Reader, data: Any, version: str, tiers, repair: RepairRules,
                 provincial: tuple[Behaviour, ...]) -> dict[str, tuple[Behaviour, ...]]:
    if not isinstance(data, dict):
        r.fail("local", "must be a mapping of region code to items")
    parents = {b.code: b for b in provincial}
    seen = set(parents)
    out = {}
    for key, entries in data.items():
        region = str(key)
        if not _REGION.match(region):
            r.fail(f"local.{region}", "region code must be 6 digits")
        if not isinstance(entries, list):
            r.fail(f"local.{region}", "must be a list of items")
        items = []
        for i, entry in enumerate(entries):
            code = r.get(entry, "code", f"local.{region}[{i}]", str)
            where = f"local item {code} ({region})"
            if code in seen:
                r.fail(where, "duplicate code")
            seen.add(code)
            parent_code = r.get(entry, "parent", where, str)
            parent = parents.get(parent_code)
            if parent is None:
                r.fail(where, f"unknown parent {parent_code!r}: a local item refines a provincial item")
            tier = r.tier(entry, where)
            deduct = r.get(entry, "deduct", where, int)
            use_months = r.get(entry, "use_months", where, int)
            repairable = r.get(entry, "repairable", where, bool, required=False, default=parent.repairable)
            if parent.recordable:  # never loosen a provincial item (SPEC §3)
                if deduct < parent.deduct:
                    r.fail(where, f"deduct {deduct} loosens its parent {parent.code} ({parent.deduct})")
                if BEHAVIOUR_TIERS.index(tier) < BEHAVIOUR_TIERS.index(parent.tier):
                    r.fail(where, f"tier {tier} is milder than its parent {parent.code} ({parent.tier})")
                if use_months < parent.use_months:
                    r.fail(where, f"use_months {use_months} loosens its parent {parent.code} ({parent.use_months})")
                if repairable and not parent.repairable:
                    r.fail(where, f"its parent {parent.code} is not repairable")
            _check_band(r, where, deduct, tier, tiers)
            items.append(Behaviour(code=code, parent=parent.code, clause=r.get(entry, "clause", where, str),
                                   title_zh=r.get(entry, "title_zh", where, str),
                                   title_en=r.get(entry, "title_en", where, str), deduct=deduct, tier=tier,
                                   use_months=use_months, repairable=repairable, version=version,
                                   region_code=region, min_publicity_months=repair.min_publicity_months[tier]))
        out[region] = tuple(items)
    return out


def _parse_measures(r: _Reader, data: dict):
    items = {m.code: m for m in r.items(data.get("items"), "measures.items", businesses=True)}

    def codes(section: str, allowed: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        block = r.get(data, section, "measures", dict)
        out = {}
        for key, listed in block.items():
            where = f"measures.{section}.{key}"
            if key not in allowed:
                r.fail(where, f"must be one of {', '.join(allowed)}")
            if not isinstance(listed, list):
                r.fail(where, "must be a list of measure codes")
            for code in listed:
                if code not in items:
                    r.fail(where, f"unknown measure {code!r}")
            out[key] = tuple(listed)
        return out

    by_tier, by_list = codes("tiers", BEHAVIOUR_TIERS), codes("lists", LISTS)
    ban = None
    block = r.get(data, "application_ban", "measures", dict, required=False)
    if block is not None:
        where = "measures.application_ban"
        measure = r.get(block, "measure", where, str)
        if measure not in items:
            r.fail(where, f"unknown measure {measure!r}")
        entry = r.get(block, "years", where, dict)
        ban = ApplicationBan(measure=measure, years=r.get(entry, "value", f"{where}.years", int),
                             clause=r.get(entry, "clause", f"{where}.years", str))
    # The heavy measures follow only from a listing that went through its procedure, never from a tier (SPEC §8).
    list_only = set(by_list.get("punishment", ())) | ({ban.measure} if ban else set())
    for tier, listed in by_tier.items():
        granted = sorted(set(listed) & list_only)
        if granted:
            r.fail(f"measures.tiers.{tier}", f"grants list-only measure(s) {', '.join(granted)}: they follow only "
                                             f"from a listing (SPEC §8)")
    return items, by_tier, by_list, ban


def load_rules(directory: Path | str | None = None, draft: Path | str | None = None) -> RuleBook:
    """All versions in `directory` (default config/rules/), plus an optional draft version for a what-if run.

    The draft is added, or replaces the version with the same effective date.
    """
    directory = Path(directory) if directory is not None else clock.CONFIG_DIR / "rules"
    paths = sorted(p for p in directory.glob("*.yaml") if p.is_file()) + sorted(directory.glob("*.yml"))
    if not paths:
        raise RulesError(f"{directory}: no rules version files (*.yaml)")
    by_date: dict[date, RuleVersion] = {}
    for path in paths:
        version = _parse_version(path)
        other = by_date.get(version.effective)
        if other is not None:
            raise RulesError(f"{path}: effective date {version.effective} is also the date of {other.path}: "
                             f"two versions may not take effect on the same day")
        by_date[version.effective] = version
    if draft is not None:
        version = _parse_version(Path(draft))
        by_date[version.effective] = version
    names = [v.name for v in by_date.values()]
    if len(set(names)) != len(names):
        raise RulesError(f"{directory}: two versions share a name")
    return RuleBook(versions=tuple(by_date.values()))


@lru_cache(maxsize=1)
def default_rules() -> RuleBook:
    """The rules in config/rules/, read once per process."""
    return load_rules()
