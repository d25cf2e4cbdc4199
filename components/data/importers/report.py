"""What an import did: :class:`ImportReport` (names written, ``(file, reason)`` left out) and the
per-sample :class:`_Problem` every reader raises and its plan or convert job turns into a report
entry, so one bad sample never stops an import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPORT_NAME = "import_report.json"


@dataclass
class ImportReport:
    """What an import did: the canonical names written and every ``(file, reason)`` left out."""

    format: str
    imported: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def add_problem(self, file: str | Path, reason: str) -> None:
        self.problems.append((str(file), reason))

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "imported": len(self.imported),
            "problems": [{"file": f, "reason": r} for f, r in self.problems],
        }


class _Problem(Exception):
    """One sample cannot be imported; carries the file to name and the reason."""

    def __init__(self, file: str | Path, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = str(file)
        self.reason = reason
