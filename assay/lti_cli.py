"""`assay lti`: register LMSs (LTI 1.3 platforms) with the storer, list them, sync a course's
roster from its LMS, send the scores waiting (docs/lti.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

lti_app = typer.Typer(
    help="LTI 1.3: assay as a tool in Moodle, Canvas, Blackboard (docs/lti.md).",
    no_args_is_help=True,
)
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True)
EXIT_BAD_INPUT = 2
DATA_DIR_OPTION = typer.Option(
    "--data-dir", "-d", help="Where the database, files and queues live.", envvar="ASSAY_DATA_DIR"
)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _django(data_dir: Path) -> None:
    from assay.storer import serve

    serve.setup_django(data_dir.resolve())


def _urls() -> dict[str, str]:
    from django.conf import settings
    from django.urls import reverse

    base = str(getattr(settings, "SITE_URL", "")).rstrip("/")  # noqa: B009
    return {
        "login (OIDC initiation) URL": base + reverse("lti:login"),
        "launch (redirect / target link) URL": base + reverse("lti:launch"),
        "deep linking URL": base + reverse("lti:launch"),
        "public key set (JWKS) URL": base + reverse("lti:jwks"),
        "Canvas JSON configuration": base + reverse("lti:canvas_config"),
    }


@lti_app.command("urls")
def urls(data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var")) -> None:
    """The URLs to give the LMS when registering assay (from ASSAY_SITE_URL)."""
    _django(data_dir)
    for name, url in _urls().items():
        out.print(f"{name}: {url}", highlight=False)


@lti_app.command("add-platform")
def add_platform(
    name: Annotated[str, typer.Argument(help="For people, e.g. 'University Moodle'.")],
    issuer: Annotated[str, typer.Option(help="The platform's issuer (iss), a URL.")],
    client_id: Annotated[str, typer.Option(help="The client id the platform gave assay.")],
    auth_login_url: Annotated[str, typer.Option(help="Its OIDC authentication request URL.")],
    auth_token_url: Annotated[str, typer.Option(help="Its OAuth 2 access token URL.")],
    jwks_url: Annotated[str, typer.Option(help="Its public key set URL.")],
    deployment: Annotated[
        list[str] | None,
        typer.Option(help="A deployment id launches may carry (repeatable; none: any)."),
    ] = None,
    auth_audience: Annotated[
        str, typer.Option(help="The token request's audience, if not the token URL.")
    ] = "",
    trust_email: Annotated[
        bool,
        typer.Option(help="Link launches to existing accounts with the same e-mail address."),
    ] = False,
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
) -> None:
    """Register an LMS (or update its registration: same issuer and client id); prints
    assay's URLs and its public key for the LMS's side."""
    _django(data_dir)
    from django.core.exceptions import ValidationError

    from assay.storer.lti.models import Platform

    found = Platform.objects.filter(issuer=issuer, client_id=client_id).first() or Platform(
        issuer=issuer, client_id=client_id
    )
    found.name, found.auth_login_url, found.auth_token_url = name, auth_login_url, auth_token_url
    found.jwks_url, found.auth_audience, found.trust_email = jwks_url, auth_audience, trust_email
    found.deployment_ids = list(deployment or [])
    try:
        found.full_clean(exclude=["private_key"])
    except ValidationError as e:
        _fail("; ".join(_bad_option(found, k, v) for k, v in e.message_dict.items()))
    found.save()
    out.print(f"registered {found}", highlight=False)
    for label, url in _urls().items():
        out.print(f"{label}: {url}", highlight=False)
    out.print("assay's public key (JWK), if the LMS asks for a key instead of a URL:")
    out.print(json.dumps(found.public_jwk()), highlight=False, soft_wrap=True)


def _bad_option(platform: object, field: str, messages: list[str]) -> str:
    """A registration's invalid field as the option that gave it, with its value."""
    option = {"name": "NAME", "deployment_ids": "--deployment"}.get(
        field, "--" + field.replace("_", "-")
    )
    value = getattr(platform, field, "")
    return f"{option} {value!r}: {' '.join(messages)}"


@lti_app.command("add-deployment")
def add_deployment(
    issuer: Annotated[str, typer.Argument(help="The platform's issuer.")],
    deployment: Annotated[str, typer.Argument(help="The deployment id to accept.")],
    client_id: Annotated[str, typer.Option(help="Its client id (if the issuer has several).")] = "",
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
) -> None:
    """Accept launches of one more deployment of a registered LMS."""
    _django(data_dir)
    from assay.storer.lti.tool import find_platform

    platform = find_platform(issuer, client_id or None)
    if platform is None:
        _fail(f"no registration of {issuer} (client id {client_id or 'any'}): see assay lti list")
        return
    if deployment not in platform.deployment_ids:
        platform.deployment_ids = [*platform.deployment_ids, deployment]
        platform.save(update_fields=["deployment_ids"])
    out.print(f"{platform.name}: deployments {', '.join(platform.deployment_ids)}")


@lti_app.command("list")
def list_platforms(data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var")) -> None:
    """The registered LMSs and the LMS courses linked to assay courses."""
    _django(data_dir)
    from assay.storer.lti.models import LtiContext, Platform

    table = Table(title="LTI platforms")
    for col in ("name", "issuer", "client id", "deployments", "trusts e-mail"):
        table.add_column(col, overflow="fold")
    for p in Platform.objects.order_by("name"):
        table.add_row(p.name, p.issuer, p.client_id, ", ".join(p.deployment_ids) or "any",
                      "yes" if p.trust_email else "no")  # fmt: skip
    out.print(table)
    links = Table(title="LMS courses")
    for col in ("platform", "LMS course", "assay course", "roster synced"):
        links.add_column(col, overflow="fold")
    for c in LtiContext.objects.select_related("platform", "course").order_by("id"):
        links.add_row(c.platform.name, c.title or c.context_id, c.course.slug if c.course else "-",
                      str(c.synced_at or "never"))  # fmt: skip
    out.print(links)


@lti_app.command("sync-roster")
def sync_roster(
    course: Annotated[str, typer.Argument(help="The assay course (its slug).")],
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
) -> None:
    """Bring the course's members in line with its LMS courses' rosters (NRPS)."""
    _django(data_dir)
    from assay.storer.lti import roster
    from assay.storer.lti.models import LtiContext

    contexts = list(LtiContext.objects.filter(course__slug=course).select_related("platform"))
    if not contexts:
        _fail(f"no LMS course is linked to {course!r}: see assay lti list")
    for ctx in contexts:
        try:
            out.print(f"{ctx.title or ctx.context_id}: {roster.sync(ctx).summary()}")
        except roster.SyncError as e:
            _fail(f"{ctx.title or ctx.context_id}: {e}")


@lti_app.command("send-scores")
def send_scores(data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var")) -> None:
    """Send the scores due now (the storer does it by itself every few seconds)."""
    _django(data_dir)
    from assay.storer.lti import scores

    out.print(scores.send_due())
