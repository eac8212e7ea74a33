"""The release of ironic-lite this process runs."""

import functools

import pbr.version


@functools.cache
def version_string() -> str:
    """The installed package's version, e.g. ``0.0.1``."""
    return pbr.version.VersionInfo('ironic-lite').version_string()
