"""appeals domain."""
