"""Rules as data (规则): the dated catalogue, tiers, periods and measures in config/rules/ (SPEC §13)."""
from .loader import (  # noqa: F401
    BEHAVIOUR_TIERS, HOUSEHOLD_TIERS, Behaviour, RuleBook, RulesError, RuleVersion, default_rules, load_rules,
    region_ancestry,
)
