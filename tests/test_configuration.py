import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    settings_py = (ROOT / "brokerage" / "settings.py").read_text()
    read = set(re.findall(r'env\.\w+\("([A-Z0-9_]+)"', settings_py))
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no env.<type>(...) calls found: the pattern is out of date"
    assert sorted(read - documented) == []
