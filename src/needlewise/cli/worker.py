"""The background worker and the demo's mail catcher."""

from __future__ import annotations

from pathlib import Path

import click

from needlewise.cli.base import Context, guarded, main


def _mail_target(obj: Context) -> str:
    s = obj.settings
    return f"smtp://{s.smtp_host}:{s.smtp_port}" + (" (STARTTLS)" if s.smtp_starttls else "")


@main.command()
@click.option(
    "--no-smtp-check",
    is_flag=True,
    help="Start even when the mail server cannot be reached now (sends retry later).",
)
@click.pass_obj
@guarded
def worker(obj: Context, no_smtp_check: bool) -> None:
    """Send the check-in emails and clinic alerts that are due (runs until Ctrl-C).

    Queue: NEEDLEWISE_WORKER_BACKEND (sqlite: NEEDLEWISE_WORKER_QUEUE_FILE; redis:
    NEEDLEWISE_REDIS_URL). Mail: NEEDLEWISE_SMTP_*. Every NEEDLEWISE_WORKER_SWEEP_SECONDS
    it also looks for due messages itself, so a lost queue loses nothing. SIGINT stops
    after the sends in progress; SIGTERM stops at once (an interrupted send is sent again,
    with the same Message-ID, after NEEDLEWISE_WORKER_CLAIM_TIMEOUT_SECONDS). Exit 2 with
    one line when the queue or the mail server cannot be used.
    """
    from needlewise.cli.operations import database_errors
    from needlewise.errors import InputError
    from needlewise.jobs.smtp import check_smtp
    from needlewise.jobs.worker import build_worker, run_consumer, unusable_queue

    settings = obj.settings
    problem = unusable_queue(settings)
    if problem is not None:
        raise InputError(problem, "worker queue")
    if not no_smtp_check and (problem := check_smtp(settings)) is not None:
        raise InputError(problem, "NEEDLEWISE_SMTP_HOST/PORT")
    with database_errors(settings.database_url):
        runtime = obj.start()
    queue = (
        f"redis {settings.redis_url}"
        if settings.worker_backend == "redis"
        else f"sqlite {settings.worker_queue_file}"
    )
    click.echo(
        f"needlewise worker: queue {queue}; mail to {_mail_target(obj)}; "
        f"{settings.worker_threads} thread(s), sweep every {settings.worker_sweep_seconds:g} s",
        err=False,
    )
    run_consumer(build_worker(settings, runtime_factory=lambda: runtime))
    click.echo("needlewise worker stopped.")


@main.command("mail-catcher")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to keep the messages (default NEEDLEWISE_MAIL_CATCHER_DIR or var/mail).",
)
@click.option("--port", type=int, default=None, help="Port (default NEEDLEWISE_SMTP_PORT).")
@click.pass_obj
@guarded
def mail_catcher(obj: Context, folder: Path | None, port: int | None) -> None:
    """Demo and development: catch the worker's mail on 127.0.0.1 (nothing is delivered).

    Each message is kept as an .eml file; one line is printed per message, without its
    content. The admin's Mail page lists them when NEEDLEWISE_MAIL_CATCHER_DIR is set.
    """
    import signal
    import threading

    from needlewise.errors import InputError
    from needlewise.jobs.catcher import start_catcher

    target = folder or obj.settings.mail_catcher_dir or Path("var/mail")
    bind = port if port is not None else obj.settings.smtp_port

    def said(path: Path, number: int) -> None:
        click.echo(f"mail-catcher: message {number} kept as {path} ({path.stat().st_size} bytes)")

    try:
        controller = start_catcher(target, bind, said)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{bind} ({exc})", "--port") from None
    click.echo(f"mail-catcher: listening on smtp://127.0.0.1:{bind}, keeping mail in {target}")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    click.echo("mail-catcher stopped.")
