"""Notifications: follows order events, records a message per outcome, sends it to Telegram."""
