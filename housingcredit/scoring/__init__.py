"""scoring domain: the pure credit engine (信用计分) and the cached credit state."""
from .engine import CountingItem, CreditResult, RecordFact, compute_credit, standing  # noqa: F401
