"""A CDS Hooks use-case test environment: a runtime on a fresh database with one clinic
(no web app: the use cases alone; the door's tests drive them over HTTP), and helpers to
call the services with the sample patients of the conformance folder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.cds_hooks import answer_hook
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.runtime import Runtime
from support import cds
from support.cds import JSON, NoFetch
from support.service import settings_for

BASE = "https://needlewise.example"
EPILEPSY = "contraindication.epilepsy"
CHILD = "contraindication.child"
PREGNANCY = "contraindication.pregnancy"
SELECT = "needlewise-order-select"
SIGN = "needlewise-order-sign"
BOOK = "needlewise-appointment-book"
VIEW = "needlewise-patient-view"
OVERRIDE = "https://needlewise.org/fhir/CodeSystem/override-reason"


def new_clinic(runtime: Runtime, name: str) -> int:
    return create_clinic(runtime, ClinicIn(name=name, phones=["555-0100"]))


@dataclass
class CdsEnv:
    """A runtime and one clinic of it."""

    runtime: Runtime
    clinic_id: int

    def actor(self, role: Role) -> Actor:
        return Actor(ref="system", role=role, clinic_id=self.clinic_id)

    @classmethod
    def fresh(cls, database_url: str, valuesets_dir: Path) -> Iterator[CdsEnv]:
        """For a fixture: one environment on ``database_url``, disposed afterwards."""
        runtime = Runtime.build(settings_for(database_url, valuesets_dir))
        try:
            yield cls(runtime, new_clinic(runtime, "Synthetic Test Clinic"))
        finally:
            runtime.db.dispose()


def synthea(conformance_dir: Path, stem: str) -> tuple[str, JSON]:
    """(patient id, prefetch) of the Synthea sample whose file name starts with ``stem``."""
    folder = conformance_dir / "fhir-r4" / "synthea"
    (path,) = folder.glob(f"{stem}_*.json")
    return cds.prefetch_from_bundle(json.loads(path.read_text(encoding="utf-8")))


def answer(env: CdsEnv, service_id: str, body: JSON, **kwargs: Any) -> JSON:
    """``answer_hook`` with a fresh caller (or ``caller=``) and no fetch (or ``fetch=``)."""
    caller = kwargs.pop("caller", None) or cds.caller(env.clinic_id)
    fetch = kwargs.pop("fetch", None) or NoFetch()
    runtime = env.runtime
    return answer_hook(runtime, runtime.kb, service_id, body, caller, fetch, base_url=BASE)


def count(env: CdsEnv, model: type[Any]) -> int:
    with env.runtime.db.read() as tx:
        return int(tx.scalar(select(func.count()).select_from(model)) or 0)


def select_body(patient_id: str, prefetch: JSON | None) -> JSON:
    """order-select with one draft dry-needling order (``ServiceRequest/dn-1``), selected."""
    order = cds.dry_needling_order("dn-1", patient_id)
    return cds.order_select(patient_id, prefetch, [order], ["ServiceRequest/dn-1"])


def rules_of(response: JSON, indicator: str) -> list[str]:
    """Rule ids named in the detail of the cards with ``indicator``."""
    found: list[str] = []
    for card in response["cards"]:
        if card["indicator"] == indicator:
            found += re.findall(r"rule `([a-z.-]+)`", card.get("detail", ""))
    return found
