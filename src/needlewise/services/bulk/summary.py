"""The summary of a bulk screening run: counts per decision and per rule, what was read,
what was skipped and why. Its JSON form is deterministic (no timings), so an in-process
run and a Dask run of the same export summarise byte for byte alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from needlewise.services.bulk.export import Export
from needlewise.services.bulk.partition import LineProblem, PartitionStats
from needlewise.services.bulk.screen_partition import PartitionOutcome

DECISIONS = ("eligible", "review", "not-eligible")
#: skipped lines listed one by one in the summary (all are counted, and all go to stderr)
LISTED_PROBLEMS = 1000


@dataclass
class Summary:
    """Everything ``bulk-screen`` reports at the end of a run."""

    export: Export
    as_of: date
    partitions: int
    stats: PartitionStats
    knowledge: dict[str, Any]
    patients: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    rules: dict[str, int] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)

    def add(self, outcome: PartitionOutcome) -> None:
        """Count one screened partition."""
        self.patients += outcome.patients
        for decision, count in outcome.decisions.items():
            self.decisions[decision] = self.decisions.get(decision, 0) + count
        for rule, count in outcome.rules.items():
            self.rules[rule] = self.rules.get(rule, 0) + count
        self.problems.extend(outcome.problems)

    def all_problems(self) -> list[LineProblem]:
        """Every skipped line, in file and line order."""
        return sorted([*self.stats.problems, *self.problems])

    def where(self, problem: LineProblem) -> str:
        return f"{self.export.files[problem.file].name}:{problem.line}"

    @property
    def lines_skipped(self) -> int:
        return len(self.stats.problems) + len(self.problems)

    def to_json(self) -> dict[str, Any]:
        problems = self.all_problems()
        return {
            "as_of": self.as_of.isoformat(),
            "patients": self.patients,
            "decisions": dict(self.decisions),
            "rules": dict(sorted(self.rules.items(), key=lambda kv: (-kv[1], kv[0]))),
            "files": [
                {"name": f.name, "lines": self.stats.lines.get(f.index, 0)}
                for f in self.export.files
            ],
            "files_not_read": [{"name": f.name, "reason": f.reason} for f in self.export.ignored],
            "resources_read": self.stats.resources_read,
            "resources_screened": self.stats.resources_kept,
            "lines_not_screened": dict(sorted(self.stats.not_screened.items())),
            "lines_skipped": len(problems),
            "skipped": [
                {"file": self.export.files[p.file].name, "line": p.line, "reason": p.reason}
                for p in problems[:LISTED_PROBLEMS]
            ],
            "partitions": self.partitions,
            "knowledge": dict(self.knowledge),
        }

    def to_text(self) -> str:
        """The human summary printed on a terminal."""
        lines = [f"Screened {self.patients} patients on {self.as_of.isoformat()}"]
        lines += [f"  {d:<13} {self.decisions.get(d, 0)}" for d in DECISIONS]
        if self.rules:
            lines.append("Rules that fired (patients):")
            for rule, count in sorted(self.rules.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {rule:<45} {count}")
        read = sum(self.stats.lines.values())
        lines.append(
            f"Read {len(self.export.files)} files, {read} lines: "
            f"{self.stats.resources_read} resources, {self.stats.resources_kept} screened "
            f"(the others cannot fire a rule)"
        )
        for ignored in self.export.ignored:
            lines.append(f"  not read: {ignored.name} ({ignored.reason})")
        skipped = self.lines_skipped
        lines.append(f"Lines skipped: {skipped}" + (" (listed above)" if skipped else ""))
        k = self.knowledge
        lines.append(f"Knowledge {k.get('version')} (sha256 {str(k.get('sha256'))[:12]})")
        return "\n".join(lines)
