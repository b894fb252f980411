"""The case format (evals/README.md): YAML files of cases, read and validated strictly.

A typo in an expectation key would silently turn a check off, so unknown keys are errors.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent / "cases"
SPLITS = ("dev", "test")
ORGS = {"default": "demo", "rival": "other-org"}  # org slug → fixture folder

CASE_KEYS = {
    "id",
    "split",
    "category",
    "tags",
    "today",
    "org",
    "role",
    "channel_id",
    "question",
    "expect",
    "turns",
    "note",
}
TURN_KEYS = {"question", "expect", "channel_id"}
EXPECT_KEYS = {
    "tools",
    "forbidden_tools",
    "numbers",
    "names",
    "ordered",
    "says_period",
    "clarifies",
    "refuses",
    "no_numbers",
    "forbidden",
    "sql",
}
SQL_KEYS = {"numbers", "names", "ordered"}


class CaseError(ValueError):
    """A case file that does not follow the format; the message names the file and case."""


@dataclass(frozen=True)
class Turn:
    question: str
    expect: Mapping[str, Any]
    channel_id: str | None = None


@dataclass(frozen=True)
class Case:
    id: str
    split: str
    category: str
    today: date
    turns: tuple[Turn, ...]
    org: str = "default"
    role: str = "admin"
    tags: tuple[str, ...] = ()
    source: str = ""
    note: str = ""

    @property
    def questions(self) -> list[str]:
        return [t.question for t in self.turns]


def normalise_question(text: str) -> str:
    """Lower case without punctuation or spaces: how split overlap is detected."""
    return re.sub(r"[\W_]+", "", text.lower())


def _fail(where: str, message: str) -> CaseError:
    return CaseError(f"{where}: {message}")


def _expect(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(where, "expect must be a mapping")
    unknown = set(raw) - EXPECT_KEYS
    if unknown:
        raise _fail(where, f"unknown expectation(s) {sorted(unknown)}")
    expect = dict(raw)
    if "numbers" in expect:
        expect["numbers"] = [
            item if isinstance(item, dict) else {"value": item} for item in expect["numbers"]
        ]
        for item in expect["numbers"]:
            if "value" not in item or set(item) - {"value", "tolerance"}:
                raise _fail(where, f"a number is {{value, tolerance?}}, not {item}")
    for call in expect.get("tools", []):
        if not isinstance(call, dict) or "name" not in call or set(call) - {"name", "args"}:
            raise _fail(where, f"a tool is {{name, args?}}, not {call}")
    sql = expect.get("sql")
    if sql is not None and (not isinstance(sql, dict) or set(sql) - SQL_KEYS):
        raise _fail(where, f"sql takes {sorted(SQL_KEYS)}")
    for key in ("numbers", "names", "ordered"):
        if sql and key in sql and key not in expect:
            raise _fail(where, f"sql.{key} needs the literal `{key}` it recomputes")
    return expect


def _case(raw: Any, source: str) -> Case:
    if not isinstance(raw, dict) or "id" not in raw:
        raise _fail(source, f"every case is a mapping with an id, not {raw!r}")
    where = f"{source}: {raw['id']}"
    unknown = set(raw) - CASE_KEYS
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(unknown)}")
    for key in ("split", "category", "today"):
        if key not in raw:
            raise _fail(where, f"missing {key}")
    if raw["split"] not in SPLITS:
        raise _fail(where, f"split must be one of {SPLITS}")
    if raw.get("org", "default") not in ORGS:
        raise _fail(where, f"org must be one of {sorted(ORGS)}")
    today = raw["today"]
    if not isinstance(today, date):
        raise _fail(where, "today must be a date (YYYY-MM-DD)")
    if ("question" in raw) == ("turns" in raw):
        raise _fail(where, "give either `question` (with `expect`) or `turns`")
    if "question" in raw:
        turns = [
            Turn(str(raw["question"]), _expect(raw.get("expect"), where), raw.get("channel_id"))
        ]
    else:
        if "expect" in raw:
            raise _fail(where, "with `turns`, each turn has its own expect")
        turns = []
        for i, t in enumerate(raw["turns"], start=1):
            if not isinstance(t, dict) or "question" not in t or set(t) - TURN_KEYS:
                raise _fail(where, f"turn {i} takes {sorted(TURN_KEYS)}")
            turns.append(
                Turn(
                    str(t["question"]),
                    _expect(t.get("expect"), f"{where} turn {i}"),
                    t.get("channel_id", raw.get("channel_id")),
                )
            )
    return Case(
        id=str(raw["id"]),
        split=raw["split"],
        category=str(raw["category"]),
        today=today,
        turns=tuple(turns),
        org=raw.get("org", "default"),
        role=raw.get("role", "admin"),
        tags=tuple(raw.get("tags") or ()),
        source=source,
        note=str(raw.get("note", "")),
    )


def load_cases(folder: Path = CASES_DIR) -> list[Case]:
    """Every case of every `*.yaml` file in `folder`, in file order; ids must be unique."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(raw, list):
            raise _fail(path.name, "a case file is a list of cases")
        for item in raw:
            case = _case(item, path.name)
            if case.id in seen:
                raise _fail(path.name, f"duplicate id {case.id} (also in {seen[case.id]})")
            seen[case.id] = path.name
            cases.append(case)
    return cases


def select_cases(
    cases: Iterable[Case],
    split: str = "all",
    categories: Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
) -> list[Case]:
    """The cases of a split ("all" for both), of some categories, matching id patterns."""
    wanted_categories = {c.lower() for c in categories or []}
    patterns = list(ids or [])
    return [
        c
        for c in cases
        if (split == "all" or c.split == split)
        and (not wanted_categories or c.category.lower() in wanted_categories)
        and (not patterns or any(fnmatch.fnmatch(c.id, p) for p in patterns))
    ]
