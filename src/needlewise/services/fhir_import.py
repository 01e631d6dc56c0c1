"""Import a FHIR R4 Bundle (or one resource) into the caller's clinic, all or nothing.

Patients are found again by identifier (``patient_identifiers``, unique in a clinic)
or created; Conditions, MedicationStatements/Requests, Observations and
AllergyIntolerances become the patient's ``clinical_records``, kept as the FHIR JSON
they came as, found again by their identity (first identifier ``system|value``, else
``Type/id``, else the entry's fullUrl). So importing the same file twice creates
nothing new: patients are *matched*, records are *unchanged*, or *updated* in place
when the EHR changed them. A matched patient's demographics are not overwritten (the
clinic's record wins); identifiers new to them are added.

**Nothing half-written.** Every entry is read and checked first (the codec,
:mod:`needlewise.interop.fhir.import_bundle`, then the identifiers and conditional
references against the database, inside the write transaction); any problem raises
:class:`ImportRefused` listing every problem with its JSON path, and the transaction
writes nothing. Otherwise everything is written in that one transaction.

**Audited** like the JSON API's writes: one entry per patient created (``create``
``patient``) or matched (``match`` ``patient``: the caller learns its id), per record
created or updated (``create``/``update`` ``clinical-record``), and one ``import``
entry for the document. Needs ``records:import`` (clinicians and admins: the records
change what screening decides).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from needlewise.errors import Conflict, InputError
from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.import_bundle import (
    ImportPlan,
    ImportProblem,
    PatientEntry,
    read_import,
)
from needlewise.persistence.models import Clinic, ClinicalRecord, Patient, PatientIdentifier
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.patients import PatientIn
from needlewise.services.runtime import Runtime

Outcome = Literal["created", "matched", "updated", "unchanged", "skipped"]


_ENTRY = re.compile(r"^\$\.entry\[(\d+)\]")


def _entry_order(problem: ImportProblem) -> int:
    found = _ENTRY.match(problem.where)
    return int(found.group(1)) if found else -1


class ImportRefused(InputError):
    """The document cannot be imported; :attr:`problems` lists every reason (nothing
    was written). ``str()`` is the first with a count of the others."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        problems = sorted(problems, key=_entry_order)  # stable: by entry, then as found
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(first.problem + more, first.where)
        self.problems = problems

    @property
    def status(self) -> int:
        """409 when every problem is an identifier conflict, else 422."""
        return 409 if all(p.conflict for p in self.problems) else 422


class EntryOutcome(BaseModel):
    """What became of one entry (``index`` is null for a bare resource)."""

    index: int | None
    resource_type: str
    outcome: Outcome
    patient_id: int | None = None
    record_id: int | None = None


class Counts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportSummary(BaseModel):
    """What an import did."""

    patients_created: int = 0
    patients_matched: int = 0
    records: dict[str, Counts] = Field(
        default_factory=dict, description="Per resource type: created, updated, unchanged"
    )
    skipped: dict[str, int] = Field(
        default_factory=dict,
        description="Per resource type: entries not imported (Medication: kept inside the "
        "records that refer to it)",
    )
    entries: list[EntryOutcome] = Field(default_factory=list)


def patient_in(entry: PatientEntry) -> PatientIn | list[ImportProblem]:
    """The Patient's fields validated as the JSON API validates a new patient."""
    values = {name: value for name, (value, _) in entry.fields.items()}
    try:
        return PatientIn.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False):
            name = str(error["loc"][0]) if error["loc"] else ""
            where = entry.fields.get(name, (None, entry.path))[1]
            problems.append(
                ImportProblem(where, f"not usable as the patient's {name.replace('_', ' ')}")
            )
        return problems


def find_patients(
    tx: Session, clinic_id: int | None, identifiers: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """(system, value) -> patient id, for the identifiers stored in the clinic."""
    if not identifiers:
        return {}
    rows = tx.execute(
        select(PatientIdentifier.system, PatientIdentifier.value, PatientIdentifier.patient_id)
        .where(PatientIdentifier.clinic_id == clinic_id)
        .where(tuple_(PatientIdentifier.system, PatientIdentifier.value).in_(identifiers))
    )
    return {(system, value): patient_id for system, value, patient_id in rows}


class _Import:
    def __init__(self, tx: Session, actor: Actor, plan: ImportPlan) -> None:
        self.tx, self.actor, self.plan = tx, actor, plan
        self.problems: list[ImportProblem] = list(plan.problems)
        self.known: dict[tuple[str, str], int] = {}
        #: per Patient of the plan: the stored patient it matched (None: create it)
        self.matched: list[int | None] = []
        self.new_patients: list[PatientIn | None] = []

    def check(self) -> None:
        plan = self.plan
        wanted = [i for p in plan.patients for i in p.identifiers]
        wanted += [r.conditional for r in plan.records if r.conditional is not None]
        self.known = find_patients(self.tx, self.actor.clinic_id, list(dict.fromkeys(wanted)))
        for entry in plan.patients:
            owners = {self.known[i] for i in entry.identifiers if i in self.known}
            if len(owners) > 1:
                self.problems.append(
                    ImportProblem(
                        f"{entry.path}.identifier",
                        f"its identifiers belong to {len(owners)} different stored patients "
                        f"({', '.join(f'Patient/{ids.patient(o)}' for o in sorted(owners))}); "
                        "merge them first",
                        conflict=True,
                    )
                )
            self.matched.append(next(iter(owners)) if len(owners) == 1 else None)
            data = patient_in(entry) if not owners else None
            if isinstance(data, list):
                self.problems.extend(data)
                data = None
            self.new_patients.append(data)
        in_plan = {i: slot for slot, p in enumerate(plan.patients) for i in p.identifiers}
        for record in plan.records:
            if record.conditional is None:
                continue
            if record.conditional in in_plan:
                record.patient, record.conditional = in_plan[record.conditional], None
            elif record.conditional not in self.known:
                self.problems.append(
                    ImportProblem(
                        f"{record.subject_path}.reference",
                        "no patient of this clinic or bundle has this identifier",
                    )
                )

    def write(self, summary: ImportSummary) -> None:
        tx, actor = self.tx, self.actor
        ids: list[int] = []
        outcomes: dict[int | None, EntryOutcome] = {}
        for entry, matched, data in zip(
            self.plan.patients, self.matched, self.new_patients, strict=True
        ):
            if matched is None:
                assert data is not None
                row = Patient(clinic_id=actor.clinic_id, **data.model_dump(mode="python"))
                if data.email is not None:
                    row.email = str(data.email)
                tx.add(row)
                tx.flush()
                patient_id, outcome = row.id, "created"
                summary.patients_created += 1
                audit.record(tx, actor, "create", "patient", patient_id, patient_id)
            else:
                patient_id, outcome = matched, "matched"
                summary.patients_matched += 1
                audit.record(tx, actor, "match", "patient", patient_id, patient_id)
            for system, value in entry.identifiers:
                if (system, value) not in self.known:
                    tx.add(
                        PatientIdentifier(
                            clinic_id=actor.clinic_id,
                            patient_id=patient_id,
                            system=system,
                            value=value,
                            created_by=actor.ref,
                        )
                    )
            ids.append(patient_id)
            outcomes[entry.index] = EntryOutcome(
                index=entry.index, resource_type="Patient", outcome=outcome, patient_id=patient_id
            )
        self._records(ids, summary, outcomes)
        for index, kind in self.plan.skipped_entries:
            outcomes[index] = EntryOutcome(index=index, resource_type=kind, outcome="skipped")
        summary.entries = [
            outcomes[k] for k in sorted(outcomes, key=lambda k: -1 if k is None else k)
        ]
        summary.skipped = dict(sorted(self.plan.skipped.items()))

    def _records(
        self, ids: list[int], summary: ImportSummary, outcomes: dict[int | None, EntryOutcome]
    ) -> None:
        tx, actor = self.tx, self.actor
        owners = {
            ids[r.patient] if r.patient is not None else self.known[r.conditional]  # type: ignore[index]
            for r in self.plan.records
        }
        stored: dict[tuple[int, str, str], ClinicalRecord] = {}
        if owners:
            for found in tx.scalars(
                select(ClinicalRecord).where(ClinicalRecord.patient_id.in_(owners))
            ):
                stored[found.patient_id, found.resource_type, found.identity] = found
        for record in self.plan.records:
            if record.patient is not None:
                patient_id = ids[record.patient]
            else:
                assert record.conditional is not None
                patient_id = self.known[record.conditional]
            counts = summary.records.setdefault(record.resource_type, Counts())
            row = stored.get((patient_id, record.resource_type, record.identity))
            if row is None:
                row = ClinicalRecord(
                    patient_id=patient_id,
                    resource_type=record.resource_type,
                    identity=record.identity,
                    resource=record.resource,
                    created_by=actor.ref,
                )
                tx.add(row)
                tx.flush()
                outcome: Outcome = "created"
                counts.created += 1
                audit.record(tx, actor, "create", "clinical-record", row.id, patient_id)
            elif row.resource != record.resource:
                row.resource = record.resource
                tx.flush()
                outcome = "updated"
                counts.updated += 1
                audit.record(tx, actor, "update", "clinical-record", row.id, patient_id)
            else:
                outcome = "unchanged"
                counts.unchanged += 1
            outcomes[record.index] = EntryOutcome(
                index=record.index,
                resource_type=record.resource_type,
                outcome=outcome,
                patient_id=patient_id,
                record_id=row.id,
            )


def import_document(
    runtime: Runtime, actor: Actor, document: Any, *, skip_unsupported: bool = True
) -> ImportSummary:
    """Import ``document`` (parsed FHIR JSON: a Bundle or one resource) into the caller's
    clinic, all or nothing.

    Raises :class:`~needlewise.errors.InputError` for a document that is no Bundle of an
    imported type or no resource, :class:`ImportRefused` listing every bad entry, and
    :class:`~needlewise.errors.Conflict` when a concurrent import stored the same
    identifier first (run it again: it then matches). Nothing is written in any of these.
    """
    actor.require("records:import")
    plan = read_import(document, skip_unsupported=skip_unsupported)
    summary = ImportSummary()
    try:
        with runtime.db.write() as tx:
            work = _Import(tx, actor, plan)
            work.check()
            if work.problems:
                raise ImportRefused(work.problems)
            work.write(summary)
            audit.record(tx, actor, "import", "fhir-bundle", None, None)
    except IntegrityError:
        raise Conflict(
            "another import stored one of these identifiers or records at the same time; "
            "nothing was written: run the import again"
        ) from None
    return summary


def operator_clinic(runtime: Runtime, clinic_id: int | None) -> int:
    """The clinic a command-line import goes into: ``clinic_id`` when it exists, else
    the database's only clinic. ``InputError`` (naming ``--clinic``) otherwise."""
    with runtime.db.read() as tx:
        ids = list(tx.scalars(select(Clinic.id).order_by(Clinic.id)))
    if clinic_id is not None:
        if clinic_id not in ids:
            raise InputError(f"there is no clinic {clinic_id} in this database", "--clinic")
        return clinic_id
    if not ids:
        raise InputError(
            "the database has no clinic yet: create it with "
            "`needlewise user create-admin --clinic NAME ...`",
            "--clinic",
        )
    if len(ids) > 1:
        shown = ", ".join(map(str, ids[:10]))
        raise InputError(
            f"the database holds several clinics ({shown}); give --clinic ID", "--clinic"
        )
    return ids[0]
