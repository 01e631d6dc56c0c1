"""What every use case that touches stored records needs: database, knowledge, settings,
the patient-link signer and the process's state (the credential checks it remembers).
Built once per process by :func:`needlewise.startup.start` (the web app, the CLI, the
worker), never at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from needlewise.config import Settings
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.loader import load_cached
from needlewise.persistence.db import Database, sqlite_path
from needlewise.security.secrets import LinkSigner, secret_key_for
from needlewise.services.clinic_time import ClinicZones
from needlewise.services.credential_cache import CredentialCache
from needlewise.services.job_port import JobPort, NoWorker


@dataclass(frozen=True)
class Runtime:
    db: Database
    kb: KnowledgeBase
    settings: Settings
    signer: LinkSigner
    #: successful checks of staff credentials, for ``NEEDLEWISE_AUTH_CACHE_SECONDS``
    credential_cache: CredentialCache = field(
        default_factory=CredentialCache, compare=False, repr=False
    )
    #: each clinic's time zone, kept for a minute (:mod:`needlewise.services.clinic_time`)
    clinic_zones: ClinicZones = field(default_factory=ClinicZones, compare=False, repr=False)
    #: how use cases wake the background worker (:mod:`needlewise.services.job_port`)
    jobs: JobPort = field(default_factory=NoWorker, compare=False, repr=False)

    @classmethod
    def build(
        cls, settings: Settings, kb: KnowledgeBase | None = None, jobs: JobPort | None = None
    ) -> Runtime:
        folder = settings.valuesets_dir.resolve() if settings.valuesets_dir is not None else None
        db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
        path = sqlite_path(settings.database_url)
        key_folder = path.parent if path is not None else Path("var")
        return cls(
            db=db,
            kb=kb or load_cached(folder),
            settings=settings,
            signer=LinkSigner(secret_key_for(settings.secret_key, key_folder)),
            jobs=jobs if jobs is not None else NoWorker(),
        )
