"""The registry flags the scheduler, the agent and ``atoll up`` share, and what they mean:

- ``--insecure-registry HOST:PORT`` (repeatable): speak plain HTTP to that registry, as Docker's
  ``insecure-registries`` setting; every other registry is HTTPS.
- ``--image-registry HOST[:PORT]`` (repeatable, scheduler): registries the scheduler asks what an
  image offers before placing it; ``*`` asks every registry. Images elsewhere are placed by the
  tag rules of atoll/windows.py (offline and simulated clusters). An insecure registry is asked too.
- ``--registry-config FILE``: credentials in Docker's config.json shape (atoll/image_credentials.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from atoll.image_credentials import load_docker_config
from atoll.image_reference import ReferenceError, parse_image_reference
from atoll.image_registry import RegistryConfig
from atoll.user_text import bounded_repr


def add_registry_flags(parser: argparse.ArgumentParser, *, resolution: bool) -> None:
    """``--insecure-registry`` and ``--registry-config``; with ``resolution`` also ``--image-registry``."""
    parser.add_argument(
        "--insecure-registry", action="append", default=[], metavar="HOST:PORT",
        help="speak plain HTTP to this registry (repeatable)",
    )
    parser.add_argument(
        "--registry-config", type=Path, default=None, metavar="FILE",
        help="registry credentials in Docker's config.json shape",
    )
    if resolution:
        parser.add_argument(
            "--image-registry", action="append", default=[], metavar="HOST[:PORT]",
            help="ask this registry (or '*': every one) what an image offers before placing it (repeatable)",
        )


def registry_config(args: argparse.Namespace) -> RegistryConfig:
    """RegistryConfig from the flags; ValueError (CredentialsError too), one line, for bad ones."""
    insecure = frozenset(check_registry(name) for name in args.insecure_registry)
    credentials = load_docker_config(args.registry_config) if args.registry_config is not None else {}
    return RegistryConfig(insecure=insecure, credentials=credentials)


def resolved_registries(args: argparse.Namespace) -> frozenset[str]:
    """The registries ``--image-registry`` names, plus every insecure one (given to be used)."""
    names = {name if name == "*" else check_registry(name) for name in args.image_registry}
    return frozenset(names | set(args.insecure_registry))


def check_registry(name: str) -> str:
    """``name`` when it is a registry ``host[:port]``; ValueError naming it otherwise."""
    try:
        parsed = parse_image_reference(f"{name}/probe")
    except ReferenceError:
        parsed = None
    if parsed is None or parsed.registry != name:
        raise ValueError(f"registry {bounded_repr(name)} is not HOST or HOST:PORT")
    return name
