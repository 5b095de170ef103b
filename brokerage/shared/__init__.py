"""Helpers every app's models and services share: money rounding, the column and field
shapes of money and quantities, and the database writes the ORM has no lean form for."""
