"""List use cases: watch list, rectification orders, joint-punishment procedures, credit check."""
from __future__ import annotations


def after_facts_changed(household_id: int) -> None:
    """Called by the records service in the same transaction after a determination, revocation or repair:
    recompute the household's list state from facts. (Filled in by the lists work.)"""
    return None
