"""Users: accounts with cash, positions, sign-up and API tokens."""
