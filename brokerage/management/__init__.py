"""Management commands of the project app."""
