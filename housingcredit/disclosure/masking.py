"""Masking rules for identity shown to the public or in exports (SPEC §11)."""
from __future__ import annotations


def mask_id_number(id_number: str | None) -> str:
    """420102199001011234 → 420102********1234."""
    if not id_number:
        return ""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_name(name: str | None) -> str:
    """张三丰 → 张*丰, 李四 → 李*, 欧阳娜娜 → 欧**娜."""
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
