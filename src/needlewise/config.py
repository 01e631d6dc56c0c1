"""Settings, read from ``NEEDLEWISE_*`` environment variables (or a ``.env`` file).

Build a :class:`Settings` where you need one (``Settings()`` reads the environment);
nothing is built at import time. Every setting is documented in ``docs/settings.md``,
which is generated from :data:`SETTINGS_DOC` by ``make docs`` and checked by the tests.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Run-time settings. Environment variable = ``NEEDLEWISE_`` + field name in capitals."""

    model_config = SettingsConfigDict(
        env_prefix="NEEDLEWISE_", env_file=".env", extra="ignore", frozen=True
    )

    valuesets_dir: Path | None = Field(
        default=Path("../shared/valuesets"),
        description=(
            "Folder of FHIR ValueSet JSON files (e.g. downloaded from NLM VSAC) that the "
            "knowledge base names by canonical URL. When it is missing, screening still "
            "works from the knowledge base's core codes, and `needlewise kb check` lists "
            "every missing set."
        ),
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address `needlewise serve` binds to. Loopback unless told otherwise.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port of `needlewise serve`.")
    trusted_proxies: str = Field(
        default="",
        description=(
            "Addresses or networks of the reverse proxies whose `X-Forwarded-For` and "
            "`X-Forwarded-Proto` headers are believed, comma-separated (e.g. "
            "`127.0.0.1,10.0.0.0/24`). Default: none, so the client address is the one "
            "that connected. Behind a proxy, name it here; otherwise every client seems to "
            "come from the proxy. Never name an address untrusted clients connect from: "
            "they could then choose the address the audit log and the login limit see."
        ),
    )
    max_body_bytes: int = Field(
        default=5_000_000,
        ge=1024,
        description="Largest request body the API accepts (bytes); larger bodies get 413.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Server log level. Logs never contain patient data."
    )
    database_url: str = Field(
        default="sqlite:///var/needlewise.db",
        description=(
            "SQLAlchemy URL of the database. Default: a SQLite file under ./var/ (WAL, "
            "foreign keys, busy timeout). PostgreSQL: "
            "`postgresql+psycopg://USER:PASSWORD@HOST:5432/DB`."
        ),
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description=(
            "SQLite only: `full` makes every commit durable even when the machine loses "
            "power (one fsync per commit; group commit shares it among the check-ins "
            "arriving together). `normal` is durable against a crashed process but can "
            "lose the last commits on power loss, for somewhat faster writes "
            "(bench/README.md)."
        ),
    )
    secret_key: str | None = Field(
        default=None,
        description=(
            "Key that signs patient links. Set the same value on every app process. When "
            "unset, a random key is created once in `secret.key` next to a SQLite database "
            "(or under ./var/) with permissions 600."
        ),
    )
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="How long a staff login lasts (hours)."
    )
    link_hours: float = Field(
        default=72.0,
        gt=0,
        le=24 * 60,
        description="How long a patient link (intake, consent, check-in) stays valid (hours).",
    )
    login_attempts: int = Field(
        default=5,
        ge=1,
        description=(
            "Failed logins allowed per email (and 4x that per client address) within "
            "`NEEDLEWISE_LOGIN_WINDOW_MINUTES`; more get 429 with Retry-After, except the "
            "right password from a known device of that user (see "
            "`NEEDLEWISE_DEVICE_COOKIE_DAYS`). Lockouts are audited."
        ),
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Window of the login rate limit (minutes)."
    )
    api_token_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description=(
            "Longest life of an API token (days). A token asks for up to this many days "
            "(default: all of them); a token older than this stops working, also one minted "
            "before the setting was lowered."
        ),
    )
    device_cookie_days: int = Field(
        default=90,
        ge=1,
        le=400,
        description=(
            "How long a browser that logged in stays a known device of its users (days). "
            "From a known device the right password gets through a lockout (too many failed "
            "logins for the email or the address); wrong passwords from it still count, and "
            "the device has its own limit of `NEEDLEWISE_LOGIN_ATTEMPTS`."
        ),
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description=(
            "How long a process may reuse a checked session or API token without asking the "
            "database again. A logout, a revoked token, or a change of a user's password, "
            "activity or role takes effect at once on the process that handled it and within "
            "this many seconds on the others. 0 checks the database on every request."
        ),
    )
    cookie_secure: bool = Field(
        default=True,
        description=(
            "Send the session cookie only over HTTPS (browsers treat http://127.0.0.1 and "
            "localhost as secure). Turn off only for testing on another plain-HTTP host."
        ),
    )
    nlp_warmup: bool = Field(
        default=True,
        description=(
            "Build the free-text reader (spaCy and medspaCy, about a second) in the "
            "background when the server starts, so the first check-in with text does not "
            "wait for it. The command line never does this: it loads the reader only for a "
            "message with text."
        ),
    )
    check_in_link_limit: int = Field(
        default=4,
        ge=1,
        le=1000,
        description=(
            "New check-ins one patient link may store within "
            "`NEEDLEWISE_CHECK_IN_WINDOW_MINUTES`. An identical repeat is never stored again "
            "(it is counted on the first and flags it); past the limit a submission is "
            "answered 429 with Retry-After, still with the patient's advice, and counted on "
            "the check-in the clinic already has, unless it is more urgent than every "
            "unacknowledged one, which is always stored. Staff check-ins are not limited."
        ),
    )
    check_in_patient_limit: int = Field(
        default=8,
        ge=1,
        le=1000,
        description=(
            "New check-ins all the patient links of one patient together may store within "
            "`NEEDLEWISE_CHECK_IN_WINDOW_MINUTES` (same rules as the per-link limit)."
        ),
    )
    check_in_window_minutes: int = Field(
        default=60,
        ge=1,
        le=24 * 60,
        description=(
            "Window of the check-in limits, and how long an unacknowledged check-in "
            "collects identical repeats from the same link (minutes)."
        ),
    )
    idempotency_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description=(
            "How long the answer to a create sent with an `Idempotency-Key` header is kept "
            "for retries (hours). Within it, the same key and request get the first answer "
            "and create nothing; the same key with another request gets 422."
        ),
    )
    cds_clients_file: Path | None = Field(
        default=None,
        description=(
            "CDS Hooks: a JSON file naming the EHRs (CDS clients) allowed to call our "
            "services: for each, its JWT `issuer`, its keys (`jwks_url` or an inline "
            "`jwks`), the `jku` URLs it may name, the `fhir_servers` we may fetch missing "
            "prefetch data from, and the clinic it belongs to. Without it every signed call "
            "is refused (see docs/cds-hooks.md)."
        ),
    )
    cds_allow_unsigned: bool = Field(
        default=False,
        description=(
            "CDS Hooks, development only: accept calls with no JWT. Off by default; when "
            "on, the server logs a warning at start-up and on every unsigned call. Never "
            "turn it on where real patient data flows."
        ),
    )
    cds_base_url: str | None = Field(
        default=None,
        description=(
            "CDS Hooks: the public address EHRs call us at (e.g. "
            "`https://needlewise.example.org`). A JWT's `aud` must equal this address plus "
            "`/cds-services/{id}` exactly. Default: the address of the request as received "
            "(behind a proxy, set this)."
        ),
    )
    cds_cors_origins: str = Field(
        default="",
        description=(
            "CDS Hooks: comma-separated browser origins (e.g. `https://ehr.example.org`) "
            "allowed to call the services from a web page. Default: none."
        ),
    )
    cds_fetch_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description=(
            "CDS Hooks: how long one fetch of missing prefetch data from the EHR's FHIR "
            "server may take in total (seconds) before the call answers 412."
        ),
    )
    cds_fetch_max_bytes: int = Field(
        default=5_000_000,
        ge=1_000,
        description=(
            "CDS Hooks: the largest answer read from the EHR's FHIR server (bytes); a "
            "larger one is abandoned and the call answers 412."
        ),
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "The address patients reach this server at, without a trailing slash (e.g. "
            "`https://clinic.example.org`). Check-in links in emails start with it."
        ),
    )
    smtp_host: str = Field(
        default="127.0.0.1",
        description=(
            "Mail server the worker sends check-in emails and clinic alerts through. "
            "`make run` starts a local catcher on 127.0.0.1:8025 that keeps every message."
        ),
    )
    smtp_port: int = Field(
        default=8025, ge=1, le=65535, description="Port of `NEEDLEWISE_SMTP_HOST`."
    )
    smtp_from: str = Field(
        default="needlewise <no-reply@needlewise.localhost>",
        description="The `From` address of every email the worker sends.",
    )
    smtp_starttls: bool = Field(
        default=False,
        description="Upgrade the mail connection with STARTTLS before logging in or sending.",
    )
    smtp_username: str | None = Field(
        default=None, description="Login name at the mail server; none: send without login."
    )
    smtp_password: str | None = Field(
        default=None, description="Password for `NEEDLEWISE_SMTP_USERNAME`. Never logged."
    )
    smtp_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long the worker waits for the mail server before trying later.",
    )
    worker_backend: Literal["sqlite", "redis"] = Field(
        default="sqlite",
        description=(
            "Where `needlewise worker` keeps its task queue: `sqlite` (a file next to the "
            "database, nothing to set up) or `redis` (`NEEDLEWISE_REDIS_URL`). The messages "
            "themselves are always in the database, so either queue can be lost and rebuilt."
        ),
    )
    worker_queue_file: Path = Field(
        default=Path("var/worker-queue.db"),
        description="The task-queue file of the `sqlite` worker backend.",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis server of the `redis` worker backend.",
    )
    worker_sweep_seconds: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description=(
            "How often the worker looks for messages that are due and alerts to repeat "
            "(a message due sooner is also queued for its exact time when it is scheduled)."
        ),
    )
    worker_threads: int = Field(
        default=2, ge=1, le=64, description="Threads `needlewise worker` sends with."
    )
    worker_claim_timeout_seconds: float = Field(
        default=300.0,
        ge=1,
        le=24 * 3600,
        description=(
            "A message a worker claimed (state `sending`) but did not finish within this "
            "time is taken as lost with its worker (killed, crashed) and sent again, with "
            "the same Message-ID. Keep it well above NEEDLEWISE_SMTP_TIMEOUT_SECONDS."
        ),
    )
    mail_catcher_dir: Path | None = Field(
        default=None,
        description=(
            "Demo and development: the folder where the local mail catcher "
            "(`needlewise mail-catcher`) keeps what it received; the admin's Mail page lists "
            "it. `make run` sets it to `var/mail`. Unset in production."
        ),
    )
    alert_repeat_minutes_call_provider: int = Field(
        default=60,
        ge=5,
        le=24 * 60,
        description=(
            "Minutes after which the clinic's alert about an unacknowledged "
            "call-provider check-in is sent again (until someone acknowledges it). A "
            "clinic's own value, set on its admin page, wins."
        ),
    )
    alert_repeat_minutes_emergency: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description=(
            "Minutes after which the clinic's alert about an unacknowledged emergency "
            "check-in is sent again. A clinic's own value wins. The alert never replaces "
            "the patient calling 911, which the patient is told first."
        ),
    )
    outcome_every_sessions: int = Field(
        default=4,
        ge=1,
        le=50,
        description=(
            "Function questionnaires (PSFS, NDI or ODI, chosen by region) are asked at the "
            "first session and then every this many sessions."
        ),
    )
    conformance_dir: Path = Field(
        default=Path("../shared/conformance"),
        description=(
            "Tests only: folder of public FHIR and CDS Hooks examples. Tests that need it "
            "skip with a visible reason when it is absent, and fail when CI=true."
        ),
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        """Each entry must be an IP address or network; returns them comma-separated."""
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/24)"
                ) from None
        return ",".join(entries)

    @property
    def proxy_list(self) -> list[str]:
        """:attr:`trusted_proxies` as a list (empty: trust no forwarded headers)."""
        return self.trusted_proxies.split(",") if self.trusted_proxies else []
