"""The app's routes as tests see them: their OpenAPI paths and parameters, sample URLs, and a
request class that records which query keys a view read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

# A valid value per path parameter, for calling every route once.
SAMPLE_PATH_VALUES = {"symbol": "BTC-USD", "rid": "daily-2026-11-24", "filename": "js/common.js"}
ALL_KEYS = "*"  # recorded when a view iterates the whole query instead of naming its keys


def openapi_path(rule: str) -> str:
    """Flask's `/api/reports/<rid>.json` as OpenAPI's `/api/reports/{rid}.json`."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def get_rules(app: Flask) -> list[Rule]:
    """Every rule of `app` that answers GET, in a stable order."""
    return sorted((r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())),
                  key=lambda r: r.rule)


@dataclass(frozen=True)
class Param:
    """One documented parameter, its $ref resolved."""

    name: str
    where: str  # "query" or "path"
    required: bool
    schema: dict[str, Any]


def documented_params(doc: dict[str, Any], rule: str) -> list[Param]:
    """The parameters the OpenAPI document lists for GET `rule` (none for undocumented routes)."""
    item = doc["paths"].get(openapi_path(rule), {}).get("get", {})
    params = []
    for raw in item.get("parameters", []):
        if "$ref" in raw:
            raw = doc["components"]["parameters"][raw["$ref"].rsplit("/", 1)[1]]
        params.append(Param(raw["name"], raw["in"], bool(raw.get("required")), raw["schema"]))
    return params


def sample_url(rule: Rule, values: dict[str, str] | None = None) -> str:
    """`rule`'s path with each path parameter from `values` (else its sample), URL-quoted."""
    chosen = {**SAMPLE_PATH_VALUES, **(values or {})}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>",
                  lambda m: quote(chosen[m.group(1)], safe="/" if m.group(0).startswith("<path:")
                                  else ""),
                  rule.rule)


class RecordingArgs(ImmutableMultiDict[str, str]):
    """Query arguments that remember every key a view asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, key: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, *args, **kwargs)

    def getlist(self, key: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().getlist(key, *args, **kwargs)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    def __iter__(self) -> Any:
        self.read.add(ALL_KEYS)
        return super().__iter__()

    def items(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.read.add(ALL_KEYS)
        return super().items(*args, **kwargs)

    def lists(self) -> Any:  # type: ignore[override]
        self.read.add(ALL_KEYS)
        return super().lists()

    def to_dict(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.read.add(ALL_KEYS)
        return super().to_dict(*args, **kwargs)


class RecordingRequest(Request):
    """A Flask request whose `args` record what was read (set as an app's request_class)."""

    parameter_storage_class = RecordingArgs
