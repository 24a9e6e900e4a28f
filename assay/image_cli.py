"""`assay image`: build, list and remove course images (see assay/sandbox/images.py)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from assay.sandbox import images

image_app = typer.Typer(
    help="Course images: Debian root filesystems a course's jobs run on instead of the "
    "tester's system (docs/deploy.md).",
    no_args_is_help=True,
)
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True)
EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


@image_app.command("build")
def build(
    name: Annotated[str, typer.Argument(help=f"The image's name: {images.NAME_HELP}.")],
    packages: Annotated[
        str, typer.Option(help="Comma-separated Debian packages to add to minbase.")
    ] = "",
    suite: Annotated[str, typer.Option(help="The Debian release.")] = images.DEFAULT_SUITE,
    force: Annotated[
        bool, typer.Option("--force", help="Build again even if this recipe is built.")
    ] = False,
    guest: Annotated[
        bool,
        typer.Option(
            "--guest",
            help="Also make it bootable by the qemu backend: adds a kernel, python3 and kmod, "
            "and writes an ext4 disk of the root with the guest agent (the qemu backend's "
            "default image is named 'guest').",
        ),
    ] = False,
) -> None:
    """Build an image with mmdebstrap (minbase + PACKAGES, from the Debian mirrors this
    host's apt uses) into ASSAY_IMAGES_DIR (/var/lib/assay/images) and make it the current
    version. The version is a hash of the recipe: the same recipe is built once. Needs root."""
    wanted = [p.strip() for p in packages.split(",") if p.strip()]
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=err, transient=True, disable=not err.is_terminal,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"building image {name}", total=None)

            def tick(line: str) -> None:
                progress.update(task, description=f"{name}: {line[:100]}")
                if not err.is_terminal:
                    err.print(line, highlight=False)

            if guest:
                from assay.sandbox.guest import build_guest_image

                files, built = build_guest_image(name, wanted, suite, force=force, progress=tick)
                image = files.image
            else:
                image, built = images.build(name, wanted, suite, force=force, progress=tick)
    except images.ImageError as e:
        _fail(str(e))
    manifest = image.manifest()
    how = f"built in {manifest.get('build_s')} s" if built else "already built: made current"
    out.print(
        f"image {image.label} ({how}): {len(manifest.get('installed', {}))} packages, "
        f"at {image.root}",
        highlight=False,
    )
    if guest:
        out.print(f"guest disk: {files.disk} (kernel {files.kernel.name})", highlight=False)


@image_app.command("list")
def list_images(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The images on this machine: every version, which one is current, and its recipe."""
    rows = []
    for image, current in images.all_versions():
        try:
            manifest = image.manifest()
        except images.ImageError:
            manifest = {}
        recipe = manifest.get("recipe", {})
        rows.append({
            "name": image.name, "version": image.version, "current": current,
            "suite": recipe.get("suite", "?"), "packages": recipe.get("packages", []),
            "installed": len(manifest.get("installed", {})),
            "built_at": manifest.get("built_at", "?"), "path": str(image.root),
        })  # fmt: skip
    if as_json:
        out.print_json(json.dumps(rows))
        return
    if not rows:
        out.print(f"no images in {images.images_dir()} (build one: assay image build NAME)")
        return
    table = Table(
        "image", "version", "current", "suite", "packages", "installed", "built", box=None
    )
    for r in rows:
        table.add_row(
            r["name"], r["version"], "yes" if r["current"] else "", r["suite"],
            ",".join(r["packages"]) or "(minbase)", str(r["installed"]), r["built_at"],
        )  # fmt: skip
    out.print(table)


@image_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The image to remove.")],
    version: Annotated[
        str | None, typer.Option(help="Remove only this version (default: every version).")
    ] = None,
) -> None:
    """Remove an image, or one version of it. A tester that offers it stops finding it at
    its next job (restart it so that it stops offering it)."""
    try:
        removed = images.remove(name, version)
    except images.ImageError as e:
        _fail(str(e))
    out.print(f"removed {name}: {', '.join(removed) or 'nothing'}", highlight=False)
