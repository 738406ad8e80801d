"""Performance and quality scripts; each prints its figures against its targets."""
