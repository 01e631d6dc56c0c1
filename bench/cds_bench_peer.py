"""HealthChain 0.16.1, the peer of the CDS Hooks benchmark, in its own virtualenv.

:func:`ensure_venv` creates ``bench/.venv-healthchain`` (ignored by git) on first use and
installs ``healthchain==0.16.1`` with the same uvicorn release and extras as ours
(``uvicorn[standard]``: uvloop and httptools), so both servers run on the same ASGI
server. :func:`write_app` writes the peer's app, :data:`PEER_APP`: HealthChain's own
``HealthChainAPI`` and ``CDSHooksService`` as its documentation shows them, with an
``order-select`` hook that reads the prefetch and answers one card.

What the peer's handler can and cannot do, from HealthChain 0.16.1's source:

* ``CDSRequest.context`` is typed as ``BaseHookContext`` (``userId`` and ``patientId``
  only), so pydantic drops ``selections`` and ``draftOrders`` before the handler sees
  the request: the handler cannot look for the dry-needling order and screens every
  call. It walks the prefetch as plain dicts (the cheapest reading HealthChain allows;
  its FHIR adapters would build ``fhir.resources`` models first) for an anticoagulant
  and a low platelet count, and answers a warning card naming what it found.
* It checks no JWT (HealthChain has no JWT verification), writes nothing and keeps no
  record of the card: the peer does strictly less work than needlewise per call.
* Its routes are HealthChain's defaults: ``/cds/cds-services/{id}``.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

HEALTHCHAIN = "healthchain==0.16.1"
VENV = Path(__file__).resolve().parent / ".venv-healthchain"
SERVICE_ID = "dry-needling-order-select"  # as in PEER_APP
SERVICE_PATH = f"/cds/cds-services/{SERVICE_ID}"

PEER_APP = '''"""HealthChain 0.16.1 order-select service for the needlewise CDS Hooks benchmark."""

import uuid

from healthchain.gateway import CDSHooksService, HealthChainAPI
from healthchain.models import CDSRequest, CDSResponse
from healthchain.models.responses.cdsresponse import Card, Source

ANTICOAGULANTS = {"855332", "Z79.01"}  # warfarin 5 mg (RxNorm); anticoagulant use (ICD-10-CM)
PLATELETS = "777-3"  # LOINC platelet count

app = HealthChainAPI(title="HealthChain order-select (bench)")
cds = CDSHooksService()


def resources(prefetch):
    for value in (prefetch or {}).values():
        if not value:
            continue
        if value.get("resourceType") == "Bundle":
            for entry in value.get("entry", []):
                yield entry.get("resource", {})
        else:
            yield value


def codes(resource):
    for key in ("code", "medicationCodeableConcept"):
        for coding in resource.get(key, {}).get("coding", []):
            yield coding.get("code")


@cds.hook("order-select", id="dry-needling-order-select", title="Dry needling order check")
def order_select(request: CDSRequest) -> CDSResponse:
    findings = []
    for resource in resources(request.prefetch):
        found = set(codes(resource))
        if found & ANTICOAGULANTS:
            findings.append("anticoagulant")
        if PLATELETS in found and resource.get("valueQuantity", {}).get("value", 1e9) < 50:
            findings.append("low platelet count")
    names = sorted(set(findings))
    card = Card(
        uuid=str(uuid.uuid4()),
        summary="Dry needling: " + (", ".join(names) if names else "nothing found"),
        indicator="warning" if names else "info",
        detail="Found in the prefetch: " + (", ".join(names) or "none"),
        source=Source(label="HealthChain bench", url="https://example.org/bench"),
    )
    return CDSResponse(cards=[card])


app.register_service(cds)
'''


def python() -> Path:
    """The peer virtualenv's interpreter."""
    return VENV / "bin" / "python"


def _installed(package: str) -> str | None:
    probe = f"from importlib.metadata import version; print(version({package!r}))"
    result = subprocess.run([str(python()), "-c", probe], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_venv() -> None:
    """Create the peer virtualenv and install HealthChain and uvicorn when missing."""
    uvicorn = f"uvicorn[standard]=={version('uvicorn')}"
    if not python().exists():
        print(f"cds_hooks_bench: creating {VENV} for {HEALTHCHAIN}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if _installed("healthchain") != HEALTHCHAIN.split("==")[1] or _installed("uvicorn") != version(
        "uvicorn"
    ):
        print(f"cds_hooks_bench: installing {HEALTHCHAIN} and {uvicorn}", file=sys.stderr)
        subprocess.run(
            [str(python()), "-m", "pip", "install", "-q", HEALTHCHAIN, uvicorn], check=True
        )


def write_app(folder: Path) -> str:
    """Write the peer's app into ``folder``; returns its uvicorn import string."""
    (folder / "healthchain_bench_app.py").write_text(PEER_APP)
    return "healthchain_bench_app:app"
