"""``aftercare.yaml``: the check-in schedule's strict schema. A broken schedule stops the
knowledge base from loading with a message naming the file, the rule and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from needlewise.knowledge.loader import KnowledgeError, load
from support import copy_knowledge


def broken(tmp_path: Path, change: str) -> str:
    folder = copy_knowledge(tmp_path / "data")
    path = folder / "aftercare.yaml"
    document = yaml.safe_load(path.read_text())
    schedule = document["aftercare_schedule"]
    rules = schedule["rules"]
    if change == "hours-outside-range":
        rules[0]["hours_after"] = 12
    elif change == "duplicate-id":
        rules[1]["id"] = rules[0]["id"]
    elif change == "unknown-key":
        rules[0]["sends_sms"] = True
    elif change == "no-spanish":
        del rules[2]["purpose"]["es"]
    elif change == "unknown-source":
        rules[3]["sources"] = ["source.nowhere"]
    elif change == "bad-quiet-hours":
        schedule["defaults"]["quiet_hours_end"] = "8am"
    elif change == "bad-id":
        rules[4]["id"] = "aftercare.week"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    with pytest.raises(KnowledgeError) as raised:
        load(data_dir=folder)
    return str(raised.value)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("hours-outside-range", "hours_after must lie within min_hours..max_hours"),
        ("duplicate-id", "aftercare.check-in-2h"),
        ("unknown-key", "sends_sms"),
        ("no-spanish", "aftercare.check-in-48h-chest.purpose.es"),
        ("unknown-source", "aftercare.check-in-72h: unknown source source.nowhere"),
        ("bad-quiet-hours", "quiet_hours_end"),
        ("bad-id", "id"),
    ],
)
def test_a_broken_schedule_is_refused_by_name(tmp_path: Path, change: str, said: str) -> None:
    message = broken(tmp_path, change)
    assert said in message
    assert "aftercare.yaml" in message or "aftercare.check-in" in message
