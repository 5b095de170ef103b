"""Management commands of the notifications app."""
