"""API plumbing every app's views share, knowing no domain app: the error registry and
exception handler, parsers, cursor pagination, request guards, and what a view reads
from its request (the caller, ids). Token authentication is `users.authentication`."""
