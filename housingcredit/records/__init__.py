"""records domain."""
