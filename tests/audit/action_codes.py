"""Every audit action code the code base can write, collected from the source (tests/audit/test_trail_page.py).

Read from the AST, not by running anything: each `audit.record("<action>", …)`, each staff read logged through
`gate.log_read("<action>", …)` / `audit.log_read_with(table, row, "<action>", …)` / `gate.read_household(…, "<action>")` / a domain's `read_household(…,
"<action>")`, and the default of every `action=` parameter. An action built at run time (an f-string such as
`f"procedure.{step}"`) is expanded from the values it can take (DYNAMIC below); a new kind of dynamic site, or an
action passed on in a variable somewhere new, fails the test until it is listed here.
"""
from __future__ import annotations

import ast

from housingcredit import ROOT

PACKAGE = ROOT / "housingcredit"

# Sites that pass on an action they were given (a parameter), not a code of their own.
PASS_THROUGH = {("accounts/gate.py", "log_read"), ("accounts/gate.py", "read_household"),
                ("archives/service.py", "read_household"),
                # the two-person decision helper writes the action its caller names (collected at the callers)
                ("decisions.py", "decide"), ("decisions.py", "_write"),
                # revocation and correction decisions share one wrapper around it (records/service.py)
                ("records/service.py", "_decide_change")}

# Actions built as f"{kind}<suffix>": the suffix → the kinds it takes.
SUFFIXES = {".restore": {"objection", "revocation"}}  # appeals/service.restore: ref_type of the restoration


def _dynamic() -> dict[str, set[str]]:
    """Prefix of an f-string action → the values its variable takes, read from the code that defines them."""
    from housingcredit.lists.schemas import STEPS
    repair_kinds = set()
    tree = ast.parse((PACKAGE / "appeals" / "repairs.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # _add_step(a, h, "<kind>", …)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_add_step" and len(node.args) > 2 \
                and isinstance(node.args[2], ast.Constant):
            repair_kinds.add(node.args[2].value)
    return {"procedure.": set(STEPS), "repair.": repair_kinds,
            "export.": {"approved", "rejected"}}  # workbench/exports.decide: f"export.{decision}"


def _action_arg(call: ast.Call):
    """The node holding the action of an audited call, or None when the call writes no audit entry."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
    keyword = next((k.value for k in call.keywords if k.arg == "action"), None)
    if name == "record" and owner == "audit":
        return call.args[0] if call.args else keyword
    if name in ("propose", "decide") and owner == "decisions":  # decisions.propose/decide(…, action=…)
        return keyword
    if name == "_decide_change":  # records/service.py: revocation and correction decisions (…, action=…)
        return keyword
    if name == "log_read_with" and owner == "audit":  # audit.log_read_with(table, row, action, …): the check
        return call.args[2] if len(call.args) > 2 else keyword
    if name == "log_read":
        return call.args[0] if call.args else keyword
    if name == "read_household":  # gate.read_household(h, permission, who, action) · service.…(id, who, action)
        index = 3 if owner == "gate" else 2
        return call.args[index] if len(call.args) > index else keyword
    return None


def collect() -> tuple[set[str], set[tuple[str, str]]]:
    """(every action code, the sites passing an action on in a variable: (file, function))."""
    dynamic = _dynamic()
    codes: set[str] = set()
    passing: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            args = fn.args.args + fn.args.kwonlyargs
            defaults = [None] * (len(fn.args.args) - len(fn.args.defaults)) + fn.args.defaults + fn.args.kw_defaults
            for arg, default in zip(args, defaults):
                if arg.arg == "action" and isinstance(default, ast.Constant) and isinstance(default.value, str):
                    codes.add(default.value)
            for call in [n for n in ast.walk(fn) if isinstance(n, ast.Call)]:
                node = _action_arg(call)
                if node is None:
                    continue
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    codes.add(node.value)
                elif isinstance(node, ast.IfExp) and all(isinstance(v, ast.Constant) for v in (node.body,
                                                                                               node.orelse)):
                    codes.update({node.body.value, node.orelse.value})
                elif isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant) \
                        and node.values[0].value in dynamic:
                    codes.update(node.values[0].value + v for v in dynamic[node.values[0].value])
                elif isinstance(node, ast.JoinedStr) and isinstance(node.values[-1], ast.Constant) \
                        and node.values[-1].value in SUFFIXES and len(node.values) == 2:
                    codes.update(v + node.values[-1].value for v in SUFFIXES[node.values[-1].value])
                else:
                    passing.add((rel, fn.name))
    return codes, passing
