"""Spreadsheets for the import tests, written with openpyxl as a caseworker's Excel would save them."""
from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from housingcredit.imports.workbook import HEADERS

HOUSEHOLD = {"区划代码": "420102", "住址": "江岸区幸福路8号", "户籍": "武汉市江岸区", "婚姻状况": "已婚",
             "住房状况": "本地无自有住房", "家庭年收入（元）": "36000", "家庭资产（元）": "",
             "保障类别": "公租房实物配租", "保障方式": "实物配租", "保障群体": "低收入", "优先情形": "残疾人"}


def row(key, name, number, relation="户主", household=True, **cells) -> dict:
    out = {"户序号": key, "姓名": name, "公民身份号码": number, "与户主关系": relation}
    if household:
        out.update(HOUSEHOLD)
    out.update(cells)
    return out


def xlsx(rows, headers=HEADERS, title="家庭成员") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(headers))
    for r in rows:
        ws.append([r.get(h) for h in headers] if isinstance(r, dict) else list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_xlsx(data: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
