"""scoring domain."""
