"""Orders: submission, execution against the house, cancel, expiry, the order API."""
