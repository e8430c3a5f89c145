"""Folders of data files shipped inside our packages (catalogs, templates, static files, migrations), found with
importlib.resources so a wheel install finds them as well as a checkout does."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


class PackageDataMissing(RuntimeError):
    """A data folder the installation should carry is not there: the wheel or checkout is incomplete."""


def package_folder(package: str, *parts: str) -> Path:
    """The folder `parts` inside `package` as a real directory.

    Jinja's FileSystemLoader, Starlette's StaticFiles, Alembic and gettext all want a filesystem path, so a package
    imported from a zip archive (no real folder behind it) is refused with that reason instead of failing later.
    """
    found = _folder_or_none(package, *parts)
    if found is None:
        where = "/".join((package, *parts))
        raise PackageDataMissing(
            f"the data folder {where} is missing from this installation; reinstall Threadline from its wheel or "
            "checkout (zipped installs are not supported)")
    return found


def optional_package_folder(package: str, *parts: str) -> Path | None:
    """Like package_folder, but None when the folder is not shipped (e.g. catalogs in a source checkout)."""
    return _folder_or_none(package, *parts)


def _folder_or_none(package: str, *parts: str) -> Path | None:
    resource = files(package).joinpath(*parts)
    # A wheel installed by pip, pipx or uv is unpacked, so files() gives a pathlib.Path we can hand on.
    if isinstance(resource, Path) and resource.is_dir():
        return resource
    return None
