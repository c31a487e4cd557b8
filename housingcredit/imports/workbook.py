"""The import template (导入模板) and reading an uploaded .xlsx safely.

One row is one member; rows with the same 户序号 form one household, whose archive fields are taken from its
first row (later rows may leave them empty). The headers are fixed Chinese data, like the stored choice values.

Reading is defensive: the zip's members are checked (count, declared uncompressed sizes, compression ratio, the
shared-strings table) before openpyxl opens anything; openpyxl reads the package, the one sheet is streamed
(`_sheet_values`), a formula is never evaluated (a formula cell is a row error), and the row count is capped. Python's zipfile never inflates past a
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


def _header_text(value) -> str:
    return "" if value is None else str(value).strip()


def _cell_text(value) -> str | None:
    """A cell as text; None for a formula cell (or anything but a plain value)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.startswith("="):  # a formula (`_Formula`), or a text that reads as one: refused alike
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
    try:
        reader = _Reader(io.BytesIO(data))
        reader.read()
        path = reader.sheet_path(SHEET_TITLE)
        if path is None:
            raise FileRefused(_l("The workbook has no sheet."))
        with reader.archive.open(path) as source:
            return _rows_of(_sheet_values(source, reader))
    except FileRefused:
        raise
    except Exception:  # noqa: BLE001 — whatever trips inside a damaged or hostile file
        raise FileRefused(_l("The file is damaged and cannot be read as an Excel workbook.")) from None


# The workbook's package (content types, workbook part, sheets and their parts, number formats: which styles are
# dates, the 1900/1904 epoch) is read by openpyxl's own reader. The cells of the one sheet imported are read here,
# streaming with the standard library's expat parser (as openpyxl's read-only mode does), by a loop that knows the
# few elements a cell has: openpyxl's read-only worksheet first walks the whole sheet once for its size when the
# file states none (openpyxl itself writes none), builds an object tree per text, and a dict per cell — three
# times the time for the same values (benchmarks/bench_import.py prints both). The values are openpyxl's: the same
# number casts, dates by the same number-format test and epoch, a formula as "=…" text (never evaluated).

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _V, _F, _IS, _T, _R, _SI = (_NS + t for t in ("row", "v", "f", "is", "t", "r", "si"))


def _text(element) -> str:
    """A rich or plain text's characters (`t`, and `t` in each run `r`; phonetic guides `rPh` left out), as
    openpyxl's `Text.content`."""
    parts = []
    for child in element:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _R:
            t = child.find(_T)
            if t is not None and t.text:
                parts.append(t.text)
    return "".join(parts)


class _Reader:
    """openpyxl's ExcelReader for the package (manifest, workbook, styles), with a lean shared-strings table."""

    def __init__(self, source):
        from openpyxl.reader.excel import ExcelReader
        self._excel = ExcelReader(source, read_only=True, keep_vba=False, data_only=False, keep_links=False)
        self.archive = self._excel.archive

    def read(self) -> None:
        from openpyxl.reader.excel import SHARED_STRINGS
        from openpyxl.styles.stylesheet import apply_stylesheet
        excel = self._excel
        excel.read_manifest()
        self.strings: list[str] = []
        part = excel.package.find(SHARED_STRINGS)
        if part is not None:
            from xml.etree.ElementTree import iterparse
            with self.archive.open(part.PartName[1:]) as src:
                for _event, node in iterparse(src):
                    if node.tag == _SI:
                        self.strings.append(_text(node).replace("x005F_", ""))
                        node.clear()
        excel.read_workbook()
        apply_stylesheet(self.archive, excel.wb)
        self.epoch = excel.wb.epoch
        self.date_styles = set(excel.wb._date_formats)
        self.timedelta_styles = set(excel.wb._timedelta_formats)

    def sheet_path(self, title: str) -> str | None:
        """The part of the sheet called `title`, else of the first worksheet."""
        sheets = [(sheet.name, rel.target) for sheet, rel in self._excel.parser.find_sheets()
                  if rel.target in self._excel.valid_files and "chartsheet" not in rel.Type]
        for name, path in sheets:
            if name == title:
                return path
        return sheets[0][1] if sheets else None


class _Formula(str):
    """A formula cell's text ("=…"), never its value."""


def _sheet_values(source, reader: _Reader):
    """(row number, {column number: value}) for each row element of the sheet, values as openpyxl gives them in
    read-only mode without data_only: str, int, float, bool, datetime (numbers in a date format), "#N/A"-style
    error texts, and a formula as `_Formula`."""
    from xml.etree.ElementTree import iterparse
    from openpyxl.utils.cell import column_index_from_string
    from openpyxl.utils.datetime import from_ISO8601, from_excel
    from openpyxl.worksheet._reader import _cast_number
    strings, epoch = reader.strings, reader.epoch
    date_styles, timedelta_styles = reader.date_styles, reader.timedelta_styles
    columns: dict[str, int] = {}
    row_number = 0
    for _event, row in iterparse(source):
        if row.tag != _ROW:
            continue
        r = row.get("r")
        row_number = int(r) if r is not None else row_number + 1
        values: dict[int, object] = {}
        column = 0
        for cell in row:
            ref = cell.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                column = columns.get(letters) or columns.setdefault(letters, column_index_from_string(letters))
            else:
                column += 1
            kind = cell.get("t", "n")
            formula = cell.find(_F)
            if formula is not None:
                value = _Formula("=" + (formula.text or ""))
            elif kind == "inlineStr":
                inline = cell.find(_IS)
                value = None if inline is None else _text(inline)
            else:
                value = cell.findtext(_V) or None
                if value is None:
                    pass
                elif kind == "s":
                    value = strings[int(value)]
                elif kind == "n":
                    value = _cast_number(value)
                    style = cell.get("s")
                    if style and int(style) in date_styles:
                        try:
                            value = from_excel(value, epoch, timedelta=int(style) in timedelta_styles)
                        except (OverflowError, ValueError):
                            value = "#VALUE!"  # as openpyxl: a date serial out of range is an error cell
                elif kind == "b":
                    value = bool(int(value))
                elif kind == "d":
                    value = from_ISO8601(value)
                # "str" (a formula's cached text) and "e" (an error such as #N/A) stay text
            if value is not None:
                values[column] = value
        row.clear()
        yield row_number, values


def _rows_of(sheet) -> list[SheetRow]:
    """The header row held against the template, then each non-empty row's cells by column key."""
    max_rows = _limit("IMPORT_MAX_ROWS")
    header = next(sheet, None)
    cells = header[1] if header is not None else {}
    width = max(cells, default=0)
    headers = [_header_text(cells.get(i)) for i in range(1, width + 1)]
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
    index = [(headers.index(c.header) + 1, c.key) for c in COLUMNS]
    last = len(headers)  # cells right of the headers are not read, but a formula there is still refused
    rows = []
    for number, cells in sheet:
        if not cells or all(isinstance(v, str) and not v.strip() for v in cells.values()):
            continue  # an empty row (or only blanks)
        if len(rows) >= max_rows:
            raise FileRefused(_l("The file has more than %(n)s rows; split it into files of at most %(n)s rows.",
                                 n=f"{max_rows:,}"))
        values, formulas, numbers = {}, [], []
        for pos, key in index:
            v = cells.get(pos)
            if v is None:
                values[key] = ""
                continue
            if type(v) is str and v[:1] != "=":
                values[key] = v.strip()
                continue
            text = _cell_text(v)
            if text is None:
                formulas.append(key)
                text = ""
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                numbers.append(key)
            values[key] = text
        if max(cells) > last and any(isinstance(v, str) and v.startswith("=")
                                     for pos, v in cells.items() if pos > last):
            formulas.append("_row")
        rows.append(SheetRow(number, values, formulas, numbers))
    if not rows:
        raise FileRefused(_l("The file has no data rows under the headers."))
    return rows
