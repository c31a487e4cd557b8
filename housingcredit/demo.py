"""Demo data (演示数据): households in every Hubei prefecture-level region and one login per role.

`flask demo load` calls `load()`. Households and members are built in Python and bulk-inserted with SQLAlchemy
Core in batches (100,000 households in well under a minute on PostgreSQL); the staff accounts and the household
login go through the account services like any other. Then a few percent of the new households (at most
CREDIT_CAP) get a credit history of the past 18 months through the records and lists services, on a walking
FixedClock, and today's daily jobs run once (`credit_history`). One audit entry summarises the load and one the
credit history — they name counts, never an ID number.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa
from stdnum.cn import ric

from .accounts import regions
from .accounts.models import Role, User
from .archives.models import Household, Member, ProtectionCategory, Relation
from .archives.service import archive_number
from .audit import service as audit
from .clock import get_clock
from .extensions import db
from .records.models import Record

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    region_code: str


STAFF_LOGINS = (
    DemoLogin("caseworker", "王经办（武汉）", Role.caseworker, "420100"),
    DemoLogin("caseworker_yc", "李经办（宜昌）", Role.caseworker, "420500"),
    DemoLogin("reviewer", "陈评审（武汉）", Role.reviewer, "420100"),
    DemoLogin("supervisor", "刘主管（省住建厅）", Role.supervisor, "420000"),
    DemoLogin("auditor", "赵审计（纪检）", Role.auditor, "420000"),
)

# Rough weights by population and public-rental stock; Wuhan carries the most households.
PREFECTURE_WEIGHTS = {
    "420100": 30, "420200": 5, "420300": 5, "420500": 7, "420600": 8, "420700": 2, "420800": 4, "420900": 6,
    "421000": 7, "421100": 7, "421200": 4, "421300": 3, "422800": 5, "429000": 3,
}

# Common surnames, most frequent first (weights fall off with rank).
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
            "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欣峰建国志文红兵春雷东海成亮新"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂英华秀兰红梅琳婷雪倩颖洁琴萍慧莉晶佳欣怡雯悦璐瑶丹蕾露月凤"
GROUPS = (("低保", 20), ("低收入", 30), ("新就业", 20), ("外来务工", 20), ("特困供养", 4), ("城镇中等偏下收入", 6))
PRIORITY_FLAGS = (("优抚对象", 0.04), ("残疾人", 0.07), ("大病患者", 0.03), ("计划生育特殊家庭", 0.01),
                  ("环卫公交一线职工", 0.03))
PHYSICAL_MODES = ("整套配租", "合租配租", "人才公寓配租")
SUBSIDY_MODES = ("按月发放租赁补贴", "按季发放租赁补贴")
STREETS = ("解放路", "中山路", "建设路", "人民路", "幸福路", "和平大道", "友谊路", "光明路", "民主路", "新华路", "长江路",
           "沿江大道", "胜利街", "文化路", "工农路", "团结路", "东风路", "青年路", "学府路", "民族路")
ESTATES = ("安居苑", "保障房小区", "公租房小区", "惠民苑", "康居园", "和谐家园", "阳光新城", "福星花园")
HOUSING = ("无自有住房", "人均住房建筑面积低于15平方米", "租住私房", "借住亲友住房")
SIZE_WEIGHTS = ((1, 14), (2, 19), (3, 30), (4, 26), (5, 11))  # ≈ 3 members per household
BATCH = 5000


def load(households: int = 2000, seed: int = 7, if_empty: bool = False, echo=print) -> dict:
    """Load demo households and logins; with `if_empty`, leave a database that has households alone."""
    import click
    from flask import current_app
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo data is never loaded in production (HOUSINGCREDIT_ENV_NAME=production)")
    existing = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
    if if_empty and existing:
        echo(f"demo: {existing} households already present; nothing loaded.")
        print_logins(echo)
        return {"households": 0, "members": 0}
    staff = _ensure_staff(echo)
    stats = _bulk_households(max(0, households), seed, echo)
    _ensure_household_login(staff["caseworker"])
    audit.record("demo.load", "demo", None, actor=(None, "demo"),
                 after={"households": stats["households"], "members": stats["members"], "seed": seed,
                        "per_prefecture": stats["per_prefecture"]})
    db.session.commit()  # the households stand on their own (and the PostgreSQL table lock is released)
    echo(f"demo: loaded {stats['households']} households with {stats['members']} members.")
    stats["credit"] = credit_history(stats["first_id"], stats["households"], seed, echo)
    analyze()
    print_logins(echo)
    return stats


def analyze(tables=None) -> None:
    """Fresh planner statistics for the tables just filled (all by default), so the first queries after a bulk
    load use the indexes instead of plans made for empty tables. PostgreSQL: ANALYZE each table; SQLite:
    ANALYZE (harmless, and its planner uses it too)."""
    names = tables or [t.name for t in db.metadata.sorted_tables]
    if db.session.get_bind().dialect.name == "postgresql":
        for name in names:
            db.session.execute(sa.text(f'ANALYZE "{name}"'))
    else:
        db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


def print_logins(echo=print) -> None:
    users = {u.username: u for u in db.session.scalars(
        sa.select(User).where(User.username.in_([d.username for d in STAFF_LOGINS])))}
    lines = []
    for d in STAFF_LOGINS:
        if d.username in users:
            lines.append(f"  {d.role.value:<11} {d.username:<14} / {DEMO_PASSWORD}   "
                         f"({regions.full_name(d.region_code)} {d.region_code})")
    head = _demo_household_head()
    if head is not None:
        lines.append(f"  {'household':<11} ID {head.id_number} / {DEMO_PASSWORD}   "
                     f"({regions.full_name(head.household.region_code)}, {head.name}家)")
    if lines:
        echo("Demo logins (user / password):")
        for line in lines:
            echo(line)


def _ensure_staff(echo) -> dict[str, User]:
    from .accounts import service
    out = {}
    for d in STAFF_LOGINS:
        user = db.session.scalar(sa.select(User).where(User.username == d.username))
        if user is None:
            user = service.create_staff(d.username, d.display_name, d.role, d.region_code, DEMO_PASSWORD,
                                        actor=(None, "demo"))
        out[d.username] = user
    db.session.flush()
    echo(f"demo: {len(out)} staff logins ready.")
    return out


def _demo_household_head() -> Member | None:
    """The head of the first activated Wuhan household login (the demo household)."""
    lo, hi = regions.code_range("420100")
    return db.session.scalar(
        sa.select(Member).join(User, User.household_id == Member.household_id)
        .join(Household, Household.id == Member.household_id)
        .where(User.role == Role.household, User.password_hash.is_not(None), Member.relation == Relation.head,
               Household.region_code.between(lo, hi))
        .order_by(User.id).limit(1))


def _ensure_household_login(caseworker: User) -> None:
    """Activate the first Wuhan household through the real activation path (code issued by the caseworker)."""
    from .accounts import service
    if _demo_household_head() is not None:
        return
    lo, hi = regions.code_range("420100")
    household = db.session.scalar(sa.select(Household).where(Household.region_code.between(lo, hi))
                                  .order_by(Household.id).limit(1))
    if household is None or household.head is None:
        return
    code = service.issue_activation_code(household, caseworker)
    service.activate_household(household.head.id_number, code, DEMO_PASSWORD)
    db.session.flush()


# --- households and members, in bulk -------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _code_valid_in(code: str, year: int) -> bool:
    """python-stdnum rejects a county code newer (or older) than the birth year; ask it directly."""
    body = f"{code}{year}0101001"
    return ric.is_valid(body + ric.calc_check_digit(body + "0"))


@lru_cache(maxsize=1)
def _hubei_codes() -> tuple[str, ...]:
    """Every Hubei county-level code python-stdnum knows, past ones included (older people carry old codes)."""
    from stdnum import numdb
    block = next(p for p in numdb.get("cn/loc").prefixes if p[1] == "42")
    return tuple("42" + low for _, low, high, props, _ in block[4]
                 if low == high and not low.endswith("00") and "市辖区" not in props.get("county", ""))


@lru_cache(maxsize=None)
def _birth_codes(home: str, year: int) -> tuple[str, ...]:
    """Codes an ID number of someone living in `home` and born in `year` may carry: the home county if it
    existed then, else the codes of that prefecture in use that year (e.g. 420120 武汉市区 before 1983)."""
    if _code_valid_in(home, year):
        return (home,)
    for prefix in (home[:4], home[:2]):
        codes = tuple(c for c in _hubei_codes() if c.startswith(prefix) and _code_valid_in(c, year))
        if codes:
            return codes
    return ("420000",)


class _Builder:
    def __init__(self, seed: int, today: date, taken: set[str]):
        self.rnd = random.Random(seed)
        self.today = today
        self.taken = taken
        self.surname_weights = [1.0 / (1 + i * 0.15) for i in range(len(SURNAMES))]
        self.groups, self.group_weights = zip(*GROUPS)
        self.sizes, self.size_weights = zip(*SIZE_WEIGHTS)
        self.counties = {p: [r.code for r in regions.counties_under(p)] for p in _prefectures()}

    def surname(self) -> str:
        return self.rnd.choices(SURNAMES, self.surname_weights)[0]

    def name(self, surname: str, male: bool) -> str:
        chars = GIVEN_MALE if male else GIVEN_FEMALE
        given = self.rnd.choice(chars) + (self.rnd.choice(chars) if self.rnd.random() < 0.7 else "")
        return surname + given

    def birth(self, age_lo: int, age_hi: int) -> date:
        age = self.rnd.randint(max(age_lo, 0), max(age_hi, age_lo, 0))
        d = self.today.replace(month=1, day=1) - timedelta(days=365 * age - self.rnd.randint(0, 364))
        return min(d, self.today - timedelta(days=30))

    def id_number(self, home: str, birth: date, male: bool) -> str:
        code = self.rnd.choice(_birth_codes(home, birth.year))
        for _ in range(200):
            seq = self.rnd.randrange(0, 1000)
            if (seq % 2 == 1) != male:
                seq = (seq + 1) % 1000
            body = f"{code}{birth:%Y%m%d}{seq:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self.taken:
                self.taken.add(number)
                return number
            birth = birth - timedelta(days=1)
            code = self.rnd.choice(_birth_codes(home, birth.year))
        raise RuntimeError("could not find a free demo ID number")

    def household(self, hid: int, prefecture: str, now) -> tuple[dict, list[dict]]:
        rnd = self.rnd
        county = rnd.choice(self.counties[prefecture])
        county_name = regions.get(county).name
        size = rnd.choices(self.sizes, self.size_weights)[0]
        group = rnd.choices(self.groups, self.group_weights)[0]
        surname = self.surname()
        head_male = rnd.random() < 0.6
        head_age = rnd.randint(23, 34) if group == "新就业" else rnd.randint(25, 78)
        head_birth = self.birth(head_age, head_age)
        married = size > 1 and rnd.random() < 0.8
        members = [(self.name(surname, head_male), Relation.head, head_birth, head_male)]
        if married:
            age = max(20, head_age + rnd.randint(-5, 5))
            members.append((self.name(self.surname(), not head_male), Relation.spouse, self.birth(age, age),
                            not head_male))
        while len(members) < size:
            kind = rnd.random()
            if kind < 0.7 and head_age >= 22:
                male = rnd.random() < 0.5
                age = rnd.randint(0, min(head_age - 20, 30))
                members.append((self.name(surname, male), Relation.child, self.birth(age, age), male))
            elif kind < 0.9 and head_age <= 60:
                male = rnd.random() < 0.5
                age = min(head_age + rnd.randint(22, 32), 95)
                members.append((self.name(surname if male else self.surname(), male), Relation.parent,
                                self.birth(age, age), male))
            else:
                male = rnd.random() < 0.5
                age = rnd.randint(5, 80)
                members.append((self.name(self.surname(), male), Relation.other, self.birth(age, age), male))
        category = ProtectionCategory.physical if rnd.random() < 0.65 else ProtectionCategory.subsidy
        flags = [f for f, p in PRIORITY_FLAGS if rnd.random() < p]
        if head_age >= 60:
            flags.append("老年人")
        if group == "外来务工":
            hukou = rnd.choice(("河南省信阳市", "湖南省岳阳市", "安徽省安庆市", "江西省九江市", "四川省达州市",
                                regions.full_name(rnd.choice(self.counties[rnd.choice(list(self.counties))]))))
        else:
            hukou = regions.full_name(county).replace(" ", "")
        income = Decimal(rnd.randint(800, 4500) * size) if group in ("低保", "特困供养") else \
            Decimal(rnd.randint(2000, 7000) * size)
        address = (f"湖北省{regions.full_name(county).split(' ', 1)[1].replace(' ', '')}"
                   f"{rnd.choice(STREETS)}{rnd.randint(1, 399)}号"
                   + (f"{county_name[:2]}{rnd.choice(ESTATES)}{rnd.randint(1, 30)}栋{rnd.randint(1, 6)}单元"
                      f"{rnd.randint(1, 33)}{rnd.randint(1, 8):02d}室" if category == ProtectionCategory.physical
                      else f"{rnd.randint(1, 20)}栋{rnd.randint(1, 30)}{rnd.randint(1, 6):02d}室"))
        household = {
            "id": hid, "archive_no": archive_number(county, hid), "region_code": county, "address": address[:200],
            "hukou": hukou, "marital_status": "已婚" if married else rnd.choice(("未婚", "离异", "丧偶")),
            "housing_status": rnd.choice(HOUSING), "income_yuan": income * 12,
            "assets_yuan": Decimal(rnd.randint(0, 150) * 1000),
            "protection_category": category.value,
            "protection_mode": rnd.choice(PHYSICAL_MODES if category == ProtectionCategory.physical else SUBSIDY_MODES),
            "protection_group": group, "priority_flags": flags, "created_dt": now, "updated_dt": now, "version": 1,
        }
        rows = [{"household_id": hid, "name": n, "relation": rel.value, "id_number": self.id_number(county, b, male)}
                for n, rel, b, male in members]
        return household, rows


def _prefectures() -> list[str]:
    return [r.code for r in regions.all_regions().values()
            if r.level == "prefecture" and regions.counties_under(r.code)]


def _prefecture_plan(count: int, rnd: random.Random) -> list[str]:
    """Every prefecture-level region at least once (when there are enough households), then by weight."""
    codes = _prefectures()
    plan = codes[:count]
    plan += rnd.choices(codes, [PREFECTURE_WEIGHTS.get(c, 3) for c in codes], k=max(0, count - len(codes)))
    return plan


def _bulk_households(count: int, seed: int, echo) -> dict:
    session = db.session
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # Explicit ids after max(id): keep concurrent creates out until the sequence is moved past them.
        conn.execute(sa.text("LOCK TABLE households IN EXCLUSIVE MODE"))
    start = (conn.scalar(sa.select(sa.func.max(Household.id))) or 0) + 1
    taken = set(conn.scalars(sa.select(Member.id_number))) if start > 1 else set()
    builder = _Builder(seed, get_clock().today(), taken)
    plan = _prefecture_plan(count, builder.rnd)
    now = get_clock().now_utc()
    hh_table, member_table = Household.__table__, Member.__table__
    per_prefecture: dict[str, int] = {}
    members_total = 0
    for offset in range(0, count, BATCH):
        hh_rows, member_rows = [], []
        for i, prefecture in enumerate(plan[offset:offset + BATCH], start=start + offset):
            h, ms = builder.household(i, prefecture, now)
            hh_rows.append(h)
            member_rows.extend(ms)
            per_prefecture[prefecture] = per_prefecture.get(prefecture, 0) + 1
        conn.execute(sa.insert(hh_table), hh_rows)
        conn.execute(sa.insert(member_table), member_rows)
        members_total += len(member_rows)
        echo(f"demo: {offset + len(hh_rows)}/{count} households, {members_total} members")
    if postgres and count:
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('households', 'id'), "
                             "(SELECT max(id) FROM households))"))
    return {"households": count, "members": members_total, "per_prefecture": per_prefecture, "first_id": start}


# --- behaviour records, lists and orders over the past 18 months, through the real services ----------------------
#
# A few percent of the new households (at most CREDIT_CAP, whatever the total) get a credit history: records with a
# generated evidence file, four-eyes determinations, a revocation, rectification orders, and what follows from them
# (watch-list entries, joint-punishment procedures, notices, platform events). Every step goes through the services
# like a request would, while a FixedClock walks forward through the past HISTORY_DAYS — dates are the clock's,
# never back-dated — and the daily jobs run on each day the walk stops, and on each day a procedure step or an
# overdue order falls due. Only prefectures with a demo recorder and a different demo reviewer get records:
# Wuhan (caseworker → reviewer, or supervisor) and Yichang (caseworker_yc → supervisor).

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
REVOKED_NOTE = "异议成立：承租人提交的缴费凭证证明欠租已于催缴前结清，原记录撤销。"
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
    from .clock import is_working_day
    w = d
    while not is_working_day(w):
        w += timedelta(days=1)
    if w <= latest:
        return w
    w = min(d, latest)
    while not is_working_day(w):
        w -= timedelta(days=1)
    return w


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica, ASCII text) — small, valid, different for every record."""
    def esc(t):
        return t.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = "BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(f"({esc(line)}) '" for line in lines) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += b"".join(f"{o:010d} 00000 n \n".encode("ascii") for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)


def _png(rnd: random.Random, width: int = 96, height: int = 64) -> bytes:
    """A small grey "site photo" PNG: a seeded pattern, so every file differs."""
    import struct
    import zlib
    a, b, c = rnd.randint(1, 9), rnd.randint(1, 9), rnd.randint(0, 255)
    raw = b"".join(b"\x00" + bytes((x * a + y * b + c + (x ^ y)) % 256 for x in range(width))
                   for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


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
        from .clock import add_working_days
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
        from .clock import add_working_days
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
    from .lists import service as lists
    from .records import service as records
    from .scoring import service as scoring
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
    from .lists.models import OrderCompliance, Procedure, RectificationOrder
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
    from . import jobs
    from .clock import FixedClock
    from .errors import Conflict, Forbidden, InvalidInput, NotFound
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
