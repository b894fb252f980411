"""Performance benchmarks of the data layer (plain scripts, not part of the shipped package)."""
