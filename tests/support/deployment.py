"""Read the deployment files the way Docker and Prometheus would, enough to test them."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ecommerce.core.metrics import METRIC_FAMILIES

# Exported by Prometheus itself for every target.
PROMETHEUS_BUILTINS = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
_PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan"}
)


@dataclass
class Instruction:
    keyword: str
    arguments: str
    stage: int  # index of the FROM it belongs to

    def exec_form(self) -> list[str] | None:
        text = self.arguments
        if self.keyword == "HEALTHCHECK":  # its options are dropped already
            text = text.removeprefix("CMD").strip()
        if not text.startswith("["):
            return None
        parsed: list[str] = json.loads(text)
        return parsed


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    instructions: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        if keyword == "HEALTHCHECK":
            # Options first, then CMD [...]: keep the whole text, exec_form() reads it.
            while arguments.startswith("--"):
                _, _, arguments = arguments.partition(" ")
                arguments = arguments.lstrip()
        instructions.append(Instruction(keyword, arguments.strip(), stage))
    return instructions


def dockerignore_excludes(ignore_file: Path, path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching rule wins)."""
    excluded = False
    for raw in ignore_file.read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))] + parts
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            excluded = not negate
    return excluded


def exported_metric_names() -> set[str]:
    """Every sample name the service exports (counters with _total, histogram series)."""
    names: set[str] = set()
    for collector in METRIC_FAMILIES:
        for family in collector.collect():
            if family.type == "counter":
                names.add(family.name + "_total")
            elif family.type == "histogram":
                names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
            else:
                names.add(family.name)
    return names


def promql_metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    names: set[str] = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function
        if match.group().lower() not in _PROMQL_KEYWORDS:
            names.add(match.group())
    return names
