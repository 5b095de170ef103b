"""The test suite: local settings, the test client's host, a fast password hash."""

from brokerage.settings.local import *  # noqa: F403
from brokerage.settings.local import ALLOWED_HOSTS

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
# Tests create many accounts; PBKDF2's deliberate slowness buys nothing here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
