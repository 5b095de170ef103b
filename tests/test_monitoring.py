"""The compose stack's monitoring names only what the code exports, and every alert is
unit-tested (the rules themselves run under `promtool test rules` in .ci/run)."""

import json
import re

import yaml
from django_prometheus.middleware import Metrics
from prometheus_client import REGISTRY

import brokerage.metrics  # noqa: F401  (registers the brokerage_* metrics)
from tests.helpers import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "brokerage.json"
METRIC = re.compile(r"\b(?:brokerage|django)_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
    "summary": ("_count", "_sum", "_created"),
}


def exported() -> set[str]:
    """Every sample name the process's registry can expose, labelled ones included."""
    Metrics.get_instance()  # django-prometheus registers its django_http_* on first use
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def test_every_dashboard_and_alert_query_names_an_exported_metric():
    queries = [
        panel_target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for panel_target in panel.get("targets", [])
    ]
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    queries += [rule["expr"] for group in rules for rule in group["rules"]]
    named = {name for query in queries for name in METRIC.findall(query)}

    assert named >= {"brokerage_orders_stuck", "django_http_responses_total_by_status_total"}
    assert named - exported() == set()


def test_every_alert_has_a_unit_test_that_fires_it():
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    alerts = {rule["alert"] for group in rules for rule in group["rules"]}
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert len(alerts) >= 9
    assert alerts - fired == set()
