"""archives domain."""
