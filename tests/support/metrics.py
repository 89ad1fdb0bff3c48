"""`GET /metrics` read as Prometheus would: every sample by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.apps import app_with

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(**overrides: str) -> tuple[int, Samples, set[str]]:
    """Status, every sample by (name, labels), and the family names of one scrape."""
    response = app_with(testing=False, **overrides).test_client().get("/metrics")
    text = response.get_data(as_text=True)
    samples: Samples = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        if family.samples:
            names.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.status_code, samples, names


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample `name` with exactly `labels`, or None when the scrape has none."""
    return samples.get((name, frozenset(labels.items())))
