"""List use cases (名单, HB 六; SPEC §6–§8), one room per use case, entered from here.

- `watch`: the watch list (重点关注名单), the engine's history reconciled into its cache;
- `procedures`: the joint-punishment procedure (失信联合惩戒程序) and its steps;
- `orders`: rectification orders (责令限期改正) and the procedures overdue ones open;
- `check`: the database's facts for the measures engine (`procedure_facts`, `objection_facts`), list status
  and the credit check (信用查询);
- `queries`: the watch list page, what is due, the archive page's lists panel;
- `common`: labels, hooks, the household gate, notices and pushes shared by them.

Facts are records (with their determination, revocation and repair), orders with their compliance, procedures
with their dated steps. List membership is derived by the one engine (`lists.engine`); the `watch_entries` rows
and the `procedures.state…` columns are caches written in the same transaction as the fact that changed them.
"""
from __future__ import annotations

from .check import CheckResult, check_view, credit_check, measures_of, status
from .common import (BUSINESS_LABELS, END_REASON_LABELS, ORDER_STATUS_LABELS, ROUTE_LABELS, STEP_LABELS,
                     WATCH_REASON_LABELS, objection_facts)
from .models import Procedure, RectificationOrder
from .orders import grounds, issue_order, open_overdue_orders, order_view, orders_for, record_compliance
from .procedures import (advance, advance_due_procedures, end_procedure, expire_listings, open_procedure,
                         procedure_facts, procedure_view, procedures_for)
from .queries import due, panel, watch_list
from .schemas import BUSINESSES, MANUAL_ROUTES
from .watch import after_facts_changed, expire_watch

__all__ = ["BUSINESSES", "BUSINESS_LABELS", "END_REASON_LABELS", "MANUAL_ROUTES", "ORDER_STATUS_LABELS",
           "ROUTE_LABELS", "STEP_LABELS", "WATCH_REASON_LABELS", "CheckResult", "Procedure",
           "RectificationOrder", "advance", "advance_due_procedures", "after_facts_changed", "check_view",
           "credit_check", "due", "end_procedure", "expire_listings", "expire_watch", "grounds",
           "issue_order", "measures_of", "objection_facts", "open_overdue_orders", "open_procedure", "order_view",
           "orders_for",
           "panel", "procedure_facts", "procedure_view", "procedures_for", "record_compliance", "status",
           "watch_list"]
