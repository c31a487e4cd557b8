"""The import template (导入模板) and reading an uploaded .xlsx safely.

One row is one member; rows with the same 户序号 form one household, whose archive fields are taken from its
first row (later rows may leave them empty). The headers are fixed Chinese data, like the stored choice values.

Reading is defensive: the zip's members are checked (count, declared uncompressed sizes, compression ratio, the
shared-strings table) before openpyxl opens anything, openpyxl reads in read-only mode and never evaluates a
formula (a formula cell is a row error), and the row count is capped. Python's zipfile never inflates past a
member's declared size, so the checked sizes bound what is really unpacked.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..archives.forms import CATEGORY_LABELS, GROUP_LABELS, MARITAL_LABELS, PRIORITY_LABELS, RELATION_LABELS


@dataclass(frozen=True)
class Column:
    key: str       # the archive field (service input) it fills
    header: str    # the template's header, fixed Chinese
    level: str     # "household" or "member"
    required: bool
    example: object
    note: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("household_key", "户序号", "household", True, "1", "同一户的成员填写相同的户序号"),
    Column("region_code", "区划代码", "household", True, "420102", "6 位县级区划代码，须在您的辖区内"),
    Column("address", "住址", "household", True, "江岸区幸福路8号3栋201"),
    Column("hukou", "户籍", "household", False, "武汉市江岸区"),
    Column("marital_status", "婚姻状况", "household", False, "已婚", "、".join(MARITAL_LABELS)),
    Column("housing_status", "住房状况", "household", False, "本地无自有住房"),
    Column("income_yuan", "家庭年收入（元）", "household", False, "36000.00"),
    Column("assets_yuan", "家庭资产（元）", "household", False, "50000.00"),
    Column("protection_category", "保障类别", "household", True, "公租房实物配租", "公租房实物配租、租赁补贴"),
    Column("protection_mode", "保障方式", "household", False, "实物配租"),
    Column("protection_group", "保障群体", "household", False, "低收入", "、".join(GROUP_LABELS)),
    Column("priority_flags", "优先情形", "household", False, "残疾人", "多项用“、”分隔：" + "、".join(PRIORITY_LABELS)),
    Column("name", "姓名", "member", True, "王建国"),
    Column("id_number", "公民身份号码", "member", True, "420102199003071234", "18 位，请以文本格式填写"),
    Column("birth_date", "出生日期", "member", False, "1990-03-07", "可不填；填写时须与身份号码一致"),
    Column("relation", "与户主关系", "member", True, "户主", "户主、配偶、子女、父母、其他"),
)
HEADERS = tuple(c.header for c in COLUMNS)
BY_KEY = {c.key: c for c in COLUMNS}

# Chinese values in the file → stored values (categories and relations are stored as codes)
CATEGORY_VALUES = {"公租房实物配租": "physical", "实物配租": "physical", "租赁补贴": "subsidy"}
RELATION_VALUES = {"户主": "head", "配偶": "spouse", "子女": "child", "父母": "parent", "其他": "other",
                   "其他亲属": "other"}
assert set(CATEGORY_VALUES.values()) == set(CATEGORY_LABELS) and set(RELATION_VALUES.values()) == set(
    RELATION_LABELS)
GROUPS, MARITAL, PRIORITY = set(GROUP_LABELS), set(MARITAL_LABELS), set(PRIORITY_LABELS)

SHEET_TITLE = "家庭成员"


def column_header(key: str) -> str:
    c = BY_KEY.get(key)
    return c.header if c else ""


def template_bytes(example_id_numbers: tuple[str, str]) -> bytes:
    """The template: the headers, a household of two as the example (valid ID numbers), a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    head = [c.example for c in COLUMNS]
    spouse = ["1"] + [""] * 11 + ["李秀英", example_id_numbers[1], "", "配偶"]
    head[HEADERS.index("公民身份号码")] = example_id_numbers[0]
    head[HEADERS.index("出生日期")] = f"{example_id_numbers[0][6:10]}-{example_id_numbers[0][10:12]}-" \
                                     f"{example_id_numbers[0][12:14]}"
    ws.append(head)
    ws.append(spouse)
    for row in ws.iter_rows(min_row=1, max_row=3):
        for cell in row:
            cell.number_format = "@"  # text: an 18-digit number typed in a number cell loses its last digits
    for i, c in enumerate(COLUMNS):
        ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = max(10, len(c.header) * 2 + 4)
    notes = wb.create_sheet("填写说明")
    notes.append(["列", "必填", "说明"])
    for c in COLUMNS:
        notes.append([c.header, "是" if c.required else "否", c.note])
    notes.append([])
    notes.append(["说明", "", "每行一名成员；同一户的成员填写相同的户序号，住址等家庭信息填在该户第一行。"
                              "导入前逐行检查，全部检查通过的家庭才会在您确认后导入。示例行请删除。"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---- reading ----------------------------------------------------------------------------------------------------

class FileRefused(Exception):
    """The file as a whole cannot be imported (not a workbook, too large, wrong columns …): one clear message."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _limit(name: str) -> int:
    return int(current_app.config[name])


def check_zip(data: bytes) -> None:
    """Refuse what is not a sane .xlsx before any XML is parsed: a broken zip, too many members, a member (the
    shared-strings table above all) or a total that would unpack too large, a zip bomb's compression ratio."""
    if not data:
        raise FileRefused(_l("The file is empty."))
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FileRefused(_l("This is not an Excel workbook (.xlsx). Save the file as an Excel workbook and "
                             "upload it again."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise FileRefused(_l("The file is damaged and cannot be read as an Excel workbook.")) from None
    if len(infos) > _limit("IMPORT_MAX_ZIP_MEMBERS"):
        raise FileRefused(_l("The workbook has too many parts to be an import file."))
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise FileRefused(_l("This is not an Excel workbook (.xlsx). Save the file as an Excel workbook and "
                             "upload it again."))
    total = 0
    for i in infos:
        total += i.file_size
        if i.filename == "xl/sharedStrings.xml" and i.file_size > _limit("IMPORT_MAX_SHARED_STRINGS_BYTES"):
            raise FileRefused(_l("The workbook's table of texts is too large for an import file."))
        if i.file_size > _limit("IMPORT_MAX_PART_BYTES"):
            raise FileRefused(_l("The workbook unpacks too large for an import file."))
        if i.file_size > 1_000_000 and i.file_size > max(i.compress_size, 1) * _limit("IMPORT_MAX_ZIP_RATIO"):
            raise FileRefused(_l("The workbook unpacks too large for an import file."))
    if total > _limit("IMPORT_MAX_UNPACKED_BYTES"):
        raise FileRefused(_l("The workbook unpacks too large for an import file."))


def _cell_text(value) -> str | None:
    """A cell as text; None for a cell openpyxl gives as a formula (or anything but a plain value)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.startswith("="):  # read-only openpyxl without data_only gives a formula as its text
            return None
        return value.strip()
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return None  # ArrayFormula, DataTableFormula, …


@dataclass
class SheetRow:
    number: int          # the row number in the sheet (1 = headers)
    values: dict         # key → text
    formula_in: list     # keys whose cell held a formula (or an unsupported value)
    number_cells: list   # keys whose cell held a number (not text)


def read_rows(data: bytes) -> list[SheetRow]:
    """The data rows of the first sheet, checked for shape: FileRefused for a file that cannot be imported at all
    (with the reason); each row's own problems are left to the row checks."""
    check_zip(data)
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False, keep_vba=False)
    except Exception:  # noqa: BLE001 — whatever openpyxl trips on inside a damaged or hostile file
        raise FileRefused(_l("The file is damaged and cannot be read as an Excel workbook.")) from None
    try:
        return _rows_of(wb)
    except FileRefused:
        raise
    except Exception:  # noqa: BLE001
        raise FileRefused(_l("The file is damaged and cannot be read as an Excel workbook.")) from None
    finally:
        wb.close()


def _rows_of(wb) -> list[SheetRow]:
    if not wb.worksheets:
        raise FileRefused(_l("The workbook has no sheet."))
    ws = wb[SHEET_TITLE] if SHEET_TITLE in wb.sheetnames else wb.worksheets[0]
    max_rows = _limit("IMPORT_MAX_ROWS")
    width = len(HEADERS) + 20
    it = ws.iter_rows(values_only=True, max_col=width)
    header = next(it, None)
    headers = [("" if v is None else str(v).strip()) for v in (header or ())]
    while headers and headers[-1] == "":
        headers.pop()
    missing = [h for h in HEADERS if h not in headers]
    unknown = [h for h in headers if h and h not in HEADERS]
    if missing or unknown or len(set(headers)) != len(headers):
        parts = []
        if missing:
            parts.append(str(_l("missing columns: %(names)s", names="、".join(missing))))
        if unknown:
            parts.append(str(_l("unknown columns: %(names)s", names="、".join(unknown[:10]))))
        if len(set(h for h in headers if h)) != len([h for h in headers if h]):
            parts.append(str(_l("a column appears twice")))
        raise FileRefused(_l("The columns do not match the template (%(what)s). Download the template and "
                             "copy your data into it.", what="；".join(parts)))
    index = [(headers.index(c.header), c.key) for c in COLUMNS]
    rows = []
    number = 1
    for raw in it:
        number += 1
        if raw is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
            continue
        if len(rows) >= max_rows:
            raise FileRefused(_l("The file has more than %(n)s rows; split it into files of at most %(n)s rows.",
                                 n=f"{max_rows:,}"))
        values, formulas, numbers = {}, [], []
        for pos, key in index:
            v = raw[pos] if pos < len(raw) else None
            text = _cell_text(v)
            if text is None:
                formulas.append(key)
                text = ""
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                numbers.append(key)
            values[key] = text
        extra = [raw[i] for i in range(len(headers), len(raw)) if raw[i] not in (None, "")]
        if any(isinstance(v, str) and v.startswith("=") for v in extra):
            formulas.append("_row")
        rows.append(SheetRow(number, values, formulas, numbers))
    if not rows:
        raise FileRefused(_l("The file has no data rows under the headers."))
    return rows
