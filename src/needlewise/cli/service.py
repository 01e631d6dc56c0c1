"""Running the service: serve (with the demo clinic) and staff accounts."""

from __future__ import annotations

from typing import Any

import click

from needlewise.cli.base import Context, guarded, main
from needlewise.cli.operations import database_errors


@main.command()
@click.option(
    "--host", default=None, help="Address to bind (default NEEDLEWISE_HOST or 127.0.0.1)."
)
@click.option("--port", type=int, default=None, help="Port (default NEEDLEWISE_PORT or 8000).")
@click.option(
    "--demo",
    is_flag=True,
    help="Load the demo clinic into an empty database and print its logins (never on real data).",
)
@click.pass_obj
@guarded
def serve(obj: Context, host: str | None, port: int | None, demo: bool) -> None:
    """Start the HTTP API (OpenAPI docs at /docs).

    On a new, empty database the schema is created first. Access logs are off: request
    lines can hold patient names (searches) and patient-link tokens. Responses name no
    server software, and `X-Forwarded-For` is believed only from the proxies named in
    NEEDLEWISE_TRUSTED_PROXIES (none by default).
    """
    import uvicorn

    settings = obj.settings.model_copy(
        update={**({"host": host} if host else {}), **({"port": port} if port else {})}
    )
    with database_errors(settings.database_url):  # a schema it cannot use: exit 2, one line
        from needlewise.web.app import create_app

        app = create_app(settings)
        if demo:
            _demo(app.state.runtime, f"http://{settings.host}:{settings.port}")
    click.echo(serve_banner(settings.host, settings.port))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,  # no "server: uvicorn": name no software to a scanner
        # forwarded headers are the app's job (NEEDLEWISE_TRUSTED_PROXIES, see
        # create_app): uvicorn's own default believes them from any local client
        proxy_headers=False,
    )


def serve_banner(host: str, port: int) -> str:
    """The first line ``needlewise serve`` prints (the README shows it too)."""
    return f"needlewise serving on http://{host}:{port} (API docs at /docs)"


def _demo(runtime: Any, base: str) -> None:
    from needlewise.demo import LOGINS, demo_links, demo_ready, load_demo

    if load_demo(runtime):
        click.echo("Loaded the demo clinic (synthetic data).")
    if not demo_ready(runtime):
        click.echo("This database already holds a clinic; the demo was not loaded.")
        return
    click.echo(f"Start at {base}/ (the home page says where to go).")
    click.echo(f"Demo logins (demo passwords; sign in at {base}/app/login):")
    for login in LOGINS:
        click.echo(
            f"  {login.role.value:<11} {login.email:<38} {login.password!r:<28} {login.note}"
        )
    click.echo("Patient links made for this start (open them as the patient would):")
    for link in demo_links(runtime):
        click.echo(f"  {link.label:<36} {base}{link.path}")


@main.group()
def user() -> None:
    """Staff accounts (create the first admin of a new clinic)."""


@user.command("create-admin")
@click.option("--email", required=True, help="The admin's email (their login).")
@click.option("--name", required=True, help="The admin's name.")
@click.option(
    "--clinic", "clinic_name", default=None, help="Clinic name, when the database has none yet."
)
@click.password_option(
    help="At least 12 characters and not easy to guess (asked for when not given)."
)
@click.pass_obj
@guarded
def create_admin(
    obj: Context, email: str, name: str, clinic_name: str | None, password: str
) -> None:
    """Create an admin account; on a new database, also the clinic (its name is required)."""
    from pydantic import ValidationError

    from needlewise.errors import InputError, ServiceError
    from needlewise.security.password_policy import weakness
    from needlewise.security.roles import Role
    from needlewise.services import users
    from needlewise.services.actor import Actor
    from needlewise.services.clinic import ClinicIn, create_clinic, first_clinic_id

    try:
        data = users.UserIn(email=email, name=name, role=Role.admin, password=password)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(str(first["msg"]), f"--{first['loc'][0]}") from None
    problem = weakness(password, [str(data.email), name])
    if problem is not None:  # refused before anything is written (the clinic neither)
        raise InputError(problem, "--password")
    with database_errors(obj.settings.database_url):
        runtime = obj.start()
        clinic_id = first_clinic_id(runtime)
        if clinic_id is None:
            if not clinic_name:
                raise InputError("the database has no clinic yet: give --clinic NAME", "--clinic")
            try:
                clinic = ClinicIn(name=clinic_name)
            except ValidationError as exc:
                raise InputError(str(exc.errors()[0]["msg"]), "--clinic") from None
            clinic_id = create_clinic(runtime, clinic)
        system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
        try:
            created = users.create_user(runtime, system, data)
        except InputError as exc:  # a weak password: say which option, with the advice
            raise InputError(exc.problem, f"--{exc.where.removeprefix('$.')}") from None
        except ServiceError as exc:
            raise InputError(exc.message, "--email") from None
        runtime.db.dispose()
    click.echo(f"Created admin {created.email} (user {created.id}) in clinic {clinic_id}.")
