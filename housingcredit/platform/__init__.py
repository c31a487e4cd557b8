"""platform domain."""
