"""notices domain."""
