"""Demo households and members (保障家庭), built in Python and bulk-inserted with Core in batches."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa
from stdnum.cn import ric

from ..accounts import regions
from ..archives.models import Household, Member, ProtectionCategory, Relation
from ..archives.service import archive_number
from ..clock import get_clock
from ..extensions import db

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
