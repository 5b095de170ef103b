"""Management commands of the event transport."""
