"""Demo credit histories: records, determinations, lists and orders through the real services, on a
walking clock over the past 18 months."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..accounts import regions
from ..accounts.models import User
from ..archives.models import Household
from ..audit import service as audit
from ..extensions import db
from ..records.models import Record
from .logins import STAFF_LOGINS, _demo_household_head
from .samples import _pdf, _png

CREDIT_SHARE = 0.04
CREDIT_CAP = 300
CREDIT_MIN = 12
HISTORY_DAYS = 540
WUHAN, YICHANG = "420100", "420500"

CODES = {"mild": ("HB03", "HB07", "HB08"), "moderate": ("HB01", "HB05", "HB06", "HB10"),
         "severe": ("HB02", "HB04", "HB09")}
SOURCES = {"HB01": "departments", "HB02": "departments", "HB03": "management", "HB04": "complaint",
           "HB05": "management", "HB06": "management", "HB07": "management", "HB08": "management",
           "HB09": "complaint", "HB10": "management"}
FACTS = {
    "HB01": "资格复核时未申报{year}年新购车辆及经营收入，经不动产、车辆登记信息比对查实。",
    "HB02": "以虚报家庭收入方式领取租赁补贴，经民政部门核查属实，书面通知限期退还后拒不退还。",
    "HB03": "家庭人口及收入发生变化，经{month}月书面提醒后仍未申请变更并提交资料。",
    "HB04": "经群众举报并现场核查，承租人将公租房转租他人居住，收取租金每月{rent}元。",
    "HB05": "擅自拆除承重墙并加建隔断，改变房屋结构，运营机构现场检查发现。",
    "HB06": "无正当理由累计拖欠租金{months}个月，经两次书面催缴仍未缴纳。",
    "HB07": "承租房屋无故连续空置{months}个月，水电气用量记录及多次入户核查为证。",
    "HB08": "卫生间漏水未及时报修，致楼下住户天花板受损，损失扩大。",
    "HB09": "在公租房内聚众赌博，经派出所三次警告仍不改正。",
    "HB10": "拒不按整改通知要求拆除违规搭建的阳台雨棚，逾期未整改。",
}
REJECTED_BASIS = "证据不足：现有材料不能证明该行为系保障家庭成员所为，不予认定（HB 五：证据确凿）。"
REVOKED_NOTE = "登记错误：承租人提交的缴费凭证证明欠租已于催缴前结清，原记录撤销。"
ORDERS = {"HB02": ("fraud", "退回骗取的租赁补贴并按市场租金标准补缴租金"),
          "HB04": ("illegal_transfer", "停止转租，次承租人限期迁出"),
          "HB05": ("use_change", "恢复房屋原有结构和用途"),
          "HB01": ("ineligible", "退回公共租赁住房，或按市场租金标准缴纳租金")}
# Each scenario is one household's history; MUST_HAVE go to Wuhan households first (the demo caseworker and
# reviewer see them), the rest of the share is drawn by weight.
MUST_HAVE = ("pending", "pending", "moderate", "severe", "mild_twice", "transfer", "order_overdue", "order_open",
             "revoked", "rejected", "mild")
EXTRA_WHEN_LARGE = ("transfer", "order_complied")  # at most two transfers and a few orders, whatever the size
WEIGHTED = (("mild", 34), ("moderate", 18), ("severe", 7), ("mild_twice", 10), ("rejected", 7), ("pending", 12),
            ("revoked", 4))


@dataclass
class _Case:
    household_id: int
    region_code: str
    archive_no: str
    scenario: str
    recorder: User
    reviewer: User
    officer: User  # the caseworker of the region (orders, compliance, revocation)
    records: dict = field(default_factory=dict)
    order_id: int | None = None
    last: datetime | None = None  # the case's latest step: its steps never go back in time


@dataclass
class _Step:
    when: datetime
    seq: int
    case: _Case
    action: str  # record | determine | revoke | order | comply
    args: dict


def _working(d: date, latest: date) -> date:
    """d, or the next working day after it; when that is after `latest`, the last working day up to `latest`."""
    from ..clock import is_working_day
    w = d
    while not is_working_day(w):
        w += timedelta(days=1)
    if w <= latest:
        return w
    w = min(d, latest)
    while not is_working_day(w):
        w -= timedelta(days=1)
    return w


class _Planner:
    """Turns scenarios into dated steps; deterministic with its seed."""

    def __init__(self, rnd: random.Random, today: date):
        self.rnd, self.today, self.seq = rnd, today, 0
        self.steps: list[_Step] = []
        self.first = today - timedelta(days=HISTORY_DAYS)

    def _add(self, d: date, case: _Case, action: str, **args) -> None:
        assert d < self.today, (case.scenario, action, d)
        when = datetime.combine(d, time(self.rnd.randint(8, 16), self.rnd.randint(0, 59)))
        if case.last is not None and when <= case.last:
            when = case.last + timedelta(minutes=self.rnd.randint(5, 50))
        case.last = when
        self.seq += 1
        self.steps.append(_Step(when, self.seq, case, action, args))

    def _base(self, lo_days_ago: int, hi_days_ago: int) -> date:
        return self.today - timedelta(days=self.rnd.randint(hi_days_ago, lo_days_ago))

    def record(self, case: _Case, key: str, tier: str, day: date, code: str | None = None) -> date:
        """A record entered on the working day at or after `day`; returns that day."""
        from ..clock import add_working_days
        rnd = self.rnd
        day = _working(day, self.today - timedelta(days=1))
        code = code or rnd.choice(CODES[tier])
        late = rnd.random() < 0.1
        formed = day - timedelta(days=rnd.randint(15, 40) if late else rnd.randint(0, 4))
        if not late and add_working_days(formed, 7) < day:
            formed = day
        occurred = formed - timedelta(days=rnd.randint(0, 45))
        facts = FACTS[code].format(year=occurred.year - 1, month=occurred.month,
                                   rent=rnd.choice((800, 1200, 1500)), months=rnd.randint(6, 11))
        self._add(day, case, "record", key=key, data={
            "code": code, "occurred_date": occurred.isoformat(), "formed_date": formed.isoformat(),
            "source": SOURCES[code], "facts": facts}, png=rnd.random() < 0.3)
        return day

    def determine(self, case: _Case, key: str, recorded: date, decision: str = "confirmed",
                  latest: date | None = None) -> date:
        from ..clock import add_working_days
        day = add_working_days(recorded, self.rnd.randint(2, 8))
        latest = latest or self.today - timedelta(days=1)
        day = min(day, latest)
        if day <= recorded:
            day = recorded
        self._add(day, case, "determine", key=key, decision=decision)
        return day

    def plan(self, case: _Case) -> None:
        rnd, today = self.rnd, self.today
        s = case.scenario
        if s in ("mild", "moderate", "severe", "rejected"):
            tier = s if s != "rejected" else rnd.choice(("mild", "moderate"))
            recorded = self.record(case, "a", tier, self._base(HISTORY_DAYS, 20))
            self.determine(case, "a", recorded, "rejected" if s == "rejected" else "confirmed")
        elif s == "demo_household":  # the demo household login: mild now, with its notice
            recorded = self.record(case, "a", "mild", self._base(90, 40))
            self.determine(case, "a", recorded)
        elif s == "pending":
            recorded = self.record(case, "a", rnd.choice(("mild", "moderate", "moderate", "severe")),
                                   self._base(15, 1))
        elif s == "mild_twice":
            first = self.record(case, "a", "mild", self._base(HISTORY_DAYS - 30, 90))
            d1 = self.determine(case, "a", first)
            gap = rnd.randint(20, min(300, (today - d1).days - 20))
            second = self.record(case, "b", "mild", d1 + timedelta(days=gap))
            self.determine(case, "b", second)
        elif s == "transfer":
            first = self.record(case, "a", "moderate", self._base(HISTORY_DAYS - 30, 200))
            d1 = self.determine(case, "a", first)
            second = self.record(case, "b", rnd.choice(("moderate", "severe")),
                                 d1 + timedelta(days=rnd.randint(30, min(300, (today - d1).days - 40))))
            self.determine(case, "b", second)
        elif s == "revoked":
            recorded = self.record(case, "a", "moderate", self._base(HISTORY_DAYS - 60, 120), code="HB06")
            d = self.determine(case, "a", recorded)
            self._add(d + timedelta(days=rnd.randint(10, 40)), case, "revoke", key="a")
        elif s.startswith("order_"):
            code = rnd.choice(sorted(ORDERS))
            tier = "severe" if code in CODES["severe"] else "moderate"
            if s == "order_open":
                recorded = self.record(case, "a", tier, self._base(40, 20), code=code)
            else:
                recorded = self.record(case, "a", tier, self._base(HISTORY_DAYS - 30, 150), code=code)
            d = self.determine(case, "a", recorded)
            issued = _working(d + timedelta(days=rnd.randint(1, 7)), today - timedelta(days=1))
            deadline = issued + timedelta(days=rnd.choice((15, 20, 30)))
            if s == "order_open":
                deadline = max(deadline, today + timedelta(days=10))
            self._add(issued, case, "order", key="a", code=code, deadline=deadline)
            if s == "order_complied":
                self._add(deadline - timedelta(days=rnd.randint(1, 5)), case, "comply", deadline=deadline)
        else:
            raise ValueError(s)


def _credit_households(first_id: int, count: int, rnd: random.Random) -> tuple[list, list]:
    """(Wuhan, Yichang) households among the new ones: (id, region_code, archive_no), in a seeded order."""
    out = {}
    for prefecture in (WUHAN, YICHANG):
        lo, hi = regions.code_range(prefecture)
        rows = db.session.execute(sa.select(Household.id, Household.region_code, Household.archive_no)
                                  .where(Household.id.between(first_id, first_id + count - 1),
                                         Household.region_code.between(lo, hi)).order_by(Household.id)).all()
        out[prefecture] = [tuple(r) for r in rows]
        rnd.shuffle(out[prefecture])
    return out[WUHAN], out[YICHANG]


def _cast(rnd: random.Random, staff: dict[str, User], prefecture: str, scenario: str) -> tuple[User, User, User]:
    """(recorder, reviewer, officer): four-eyes, the recorder never determines."""
    if prefecture == YICHANG:
        return staff["caseworker_yc"], staff["supervisor"], staff["caseworker_yc"]
    if scenario != "pending" and rnd.random() < 0.15:
        return staff["supervisor"], staff["reviewer"], staff["caseworker"]
    return staff["caseworker"], (staff["supervisor"] if rnd.random() < 0.2 else staff["reviewer"]), \
        staff["caseworker"]


def _evidence(step: _Step, rnd: random.Random) -> list[tuple[str, bytes]]:
    data = step.args["data"]
    case = step.case
    pdf = _pdf(["Housing credit demo - evidence (generated)", f"Archive {case.archive_no}",
                f"Behaviour {data['code']}, occurred {data['occurred_date']}, formed {data['formed_date']}",
                f"Recorded {step.when:%Y-%m-%d %H:%M} by {case.recorder.username}"])
    files = [(f"{data['code']}-证据材料-{case.archive_no}.pdf", pdf)]
    if step.args.get("png"):
        files.append((f"现场照片-{case.archive_no}.png", _png(rnd)))
    return files


def _run_step(step: _Step, rnd: random.Random, counts: dict) -> None:
    from ..lists import service as lists
    from ..records import service as records
    from ..scoring import service as scoring
    case, args = step.case, step.args
    if step.action == "record":
        r = records.create_record(case.household_id, args["data"], _evidence(step, rnd), case.recorder)
        case.records[args["key"]] = r.id
        counts["records"] += 1
        counts["late"] += bool(r.late)
    elif step.action == "determine":
        record_id = case.records.get(args["key"])
        if record_id is None:
            raise _Skip("record missing")
        r = db.session.get(Record, record_id)
        behaviour = scoring.rules_book().version_at(step.when.date()).behaviour(r.code, r.region_code)
        basis = (f"{behaviour.clause}；《湖北省公共租赁住房保障家庭信用管理及失信联合惩戒制度的实施意见（试行）》"
                 if args["decision"] == "confirmed" else REJECTED_BASIS)
        records.determine(record_id, args["decision"], basis, case.reviewer)
        counts[args["decision"]] += 1
    elif step.action == "revoke":
        proposal = records.propose_revocation(case.records[args["key"]], "error", REVOKED_NOTE, case.officer)
        records.decide_revocation(proposal.id, "confirmed", REVOKED_NOTE, case.reviewer)
        counts["revoked"] += 1
    elif step.action == "order":
        ground, requirement = ORDERS[args["code"]]
        order = lists.issue_order(case.household_id, ground, args["deadline"].isoformat(), requirement,
                                  case.records.get(args["key"]), case.officer)
        case.order_id = order.id
        counts["orders"] += 1
    elif step.action == "comply":
        if case.order_id is None:
            raise _Skip("order missing")
        lists.record_compliance(case.order_id, step.when.date().isoformat(), "已按期整改，经现场核查确认。",
                                case.officer)
        counts["complied"] += 1


class _Skip(Exception):
    pass


def _next_due(after: date, today: date) -> date | None:
    """The next day, after `after` and before today, on which the daily jobs have something dated to do: a
    procedure's next clock step, or the day after an unanswered order's deadline."""
    from ..lists.models import OrderCompliance, Procedure, RectificationOrder
    candidates = [d for d in db.session.scalars(
        sa.select(Procedure.next_date).where(Procedure.state.in_(("opened", "publicity")),
                                             Procedure.next_date > after, Procedure.next_date < today))]
    candidates += [d + timedelta(days=1) for d in db.session.scalars(
        sa.select(RectificationOrder.deadline).where(
            RectificationOrder.deadline >= after, RectificationOrder.deadline < today - timedelta(days=1),
            ~sa.exists().where(OrderCompliance.order_id == RectificationOrder.id),
            ~sa.exists().where(Procedure.order_id == RectificationOrder.id)))]
    return min(candidates) if candidates else None


def credit_history(first_id: int, count: int, seed: int, echo=print) -> dict:
    """Give a few percent of the households loaded from `first_id` a credit history, then run today's jobs."""
    from flask import current_app

    from .. import jobs
    from ..clock import FixedClock
    from ..errors import Conflict, Forbidden, InvalidInput, NotFound
    counts = {"households": 0, "records": 0, "late": 0, "confirmed": 0, "rejected": 0, "revoked": 0, "orders": 0,
              "complied": 0, "skipped": 0}
    if count <= 0:
        return counts
    import time as timer
    started = timer.perf_counter()
    rnd = random.Random(f"demo-credit-{seed}")
    original = current_app.extensions["clock"]
    today = original.today()
    wuhan, yichang = _credit_households(first_id, count, rnd)
    target = min(CREDIT_CAP, max(CREDIT_MIN, round(count * CREDIT_SHARE)), len(wuhan) + len(yichang))
    if target == 0:
        return counts
    staff = {u.username: u for u in db.session.scalars(
        sa.select(User).where(User.username.in_([d.username for d in STAFF_LOGINS])))}
    demo_head = _demo_household_head()
    demo_household = demo_head.household_id if demo_head is not None else None
    scenarios = list(MUST_HAVE) + (list(EXTRA_WHEN_LARGE) if target >= 50 else [])
    names, weights = zip(*WEIGHTED)
    scenarios += rnd.choices(names, weights, k=max(0, target - len(scenarios)))
    chosen: list[tuple[tuple, str]] = []
    pool = list(wuhan)
    if demo_household is not None and any(h[0] == demo_household for h in pool):
        pool.sort(key=lambda h: h[0] != demo_household)  # the demo household first, keeping the seeded order
        scenarios.insert(0, "demo_household")
    must = len(MUST_HAVE) + (scenarios[0] == "demo_household")
    rest = pool[must:] + list(yichang)
    rnd.shuffle(rest)
    for household in pool[:must] + rest:
        if len(chosen) >= target:
            break
        chosen.append((household, scenarios[len(chosen)]))

    planner = _Planner(rnd, today)
    for (hid, region_code, archive_no), scenario in chosen:
        prefecture = WUHAN if regions.covers(WUHAN, region_code) else YICHANG
        recorder, reviewer, officer = _cast(rnd, staff, prefecture, scenario)
        planner.plan(_Case(hid, region_code, archive_no, scenario, recorder, reviewer, officer))
    counts["households"] = len(chosen)
    by_day: dict[date, list[_Step]] = {}
    for step in planner.steps:
        by_day.setdefault(step.when.date(), []).append(step)
    echo(f"demo: credit history for {len(chosen)} households ({len(planner.steps)} steps over "
         f"{len(by_day)} days from {min(by_day)})…")

    walker = FixedClock(datetime.combine(min(by_day), time(0, 10)))
    current_app.extensions["clock"] = walker
    done, job_days = 0, 0
    try:
        day = min(by_day)
        while day is not None:
            walker.set(datetime.combine(day, time(0, 10)))
            for _line in jobs.run_once():
                pass
            job_days += 1
            for step in sorted(by_day.pop(day, ()), key=lambda s: (s.when, s.seq)):
                walker.set(step.when)
                try:
                    _run_step(step, rnd, counts)
                    db.session.commit()
                except (_Skip, InvalidInput, Conflict, Forbidden, NotFound) as err:
                    db.session.rollback()
                    counts["skipped"] += 1
                    echo(f"demo: skipped {step.action} for household {step.case.household_id}: {err}")
                done += 1
                if done % 100 == 0:
                    echo(f"demo: credit history {done}/{len(planner.steps)} steps (clock at {day})")
            upcoming = [d for d in (min(by_day) if by_day else None, _next_due(day, today)) if d is not None]
            day = min(upcoming) if upcoming else None
    finally:
        current_app.extensions["clock"] = original
        db.session.rollback()
    for line in jobs.run_once():  # today's jobs: procedure steps and expiries current as of today
        echo(f"demo: job {line}")
    audit.record("demo.credit", "demo", None, actor=(None, "demo"), after=dict(counts, job_days=job_days))
    db.session.commit()
    echo(f"demo: {counts['records']} records for {counts['households']} households "
         f"({counts['confirmed']} confirmed, {counts['rejected']} rejected, "
         f"{counts['records'] - counts['confirmed'] - counts['rejected']} pending, {counts['revoked']} revoked, "
         f"{counts['orders']} orders); daily jobs run on {job_days} days; {timer.perf_counter() - started:.1f} s.")
    return counts
