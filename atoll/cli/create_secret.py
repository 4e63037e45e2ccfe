"""``atoll create secret generic|docker-registry NAME ...``: a Secret from flags, as kubectl builds it.

- ``generic``: entries from literals, files, directories and env files (data_sources.py), of
  ``--type`` (default Opaque).
- ``docker-registry``: type ``kubernetes.io/dockerconfigjson`` holding Docker's config.json under
  ``.dockerconfigjson``, ``{"auths": {SERVER: {"username", "password", "email", "auth":
  base64(user:password)}}}`` (kubectl's shape, what image pulls read: atoll/image_credentials.py),
  or the config.json given with ``--from-file``. Either is checked by the parser image pulls use
  before anything is sent, so a Secret no pull could read is refused here, in one line that never
  shows a credential.
"""

from __future__ import annotations

import argparse
import base64
import json
from typing import Any

from atoll.cli import builders, data_sources
from atoll.cli.common import CliError
from atoll.cli.creating import add_creation_flags, create_built, namespace_for
from atoll.cli.parser import examples
from atoll.image_credentials import (
    DOCKER_CONFIG_KEY,
    DOCKER_CONFIG_SECRET_TYPE,
    MAX_CONFIG_BYTES,
    CredentialsError,
    parse_docker_config,
)
from atoll.kinds.secret import DEFAULT_TYPE
from atoll.user_text import bounded
from atoll.v1 import object_pb2

DOCKER_HUB_SERVER = "https://index.docker.io/v1/"  # kubectl's default --docker-server


def add_secret_parser(objects: Any) -> None:
    parser = objects.add_parser(
        "secret",
        help="a secret: generic (literals, files, env files) or docker-registry (image pull credentials)",
        description="Create a Secret: atoll create secret generic|docker-registry NAME ...",
        **examples(
            "atoll create secret generic db --from-literal=password=s3cret",
            "atoll create secret docker-registry pull --docker-server=reg.example:5000 --docker-username=ci "
            "--docker-password=s3cret",
        ),
    )
    types = parser.add_subparsers(dest="secret_kind", metavar="TYPE", required=True)
    _generic(types)
    _docker_registry(types)


def _generic(types: Any) -> None:
    generic = types.add_parser(
        "generic",
        help="a secret from literals, files, directories or env files",
        description="Create a Secret NAME of --type (default Opaque) from literals, files or env files.",
        **examples(
            "atoll create secret generic db --from-literal=user=app --from-literal=password=s3cret",
            "atoll create secret generic tls --from-file=tls.crt --from-file=tls.key --type=kubernetes.io/tls",
        ),
    )
    data_sources.add_data_flags(generic, "secret")
    generic.add_argument(
        "--type", default=DEFAULT_TYPE, metavar="TYPE", help=f"the secret's type (default {DEFAULT_TYPE})"
    )
    add_creation_flags(generic)

    def build(args: argparse.Namespace) -> object_pb2.Object:
        entries = data_sources.gather(args.from_literal, args.from_file, args.from_env_file)
        return builders.secret(args.name, namespace_for(args), entries, secret_type=args.type)

    generic.set_defaults(run=lambda args: create_built(args, lambda: build(args)))


def _docker_registry(types: Any) -> None:
    parser = types.add_parser(
        "docker-registry",
        help="registry credentials for image pulls (imagePullSecrets)",
        description="Create a kubernetes.io/dockerconfigjson Secret NAME from credentials or a config.json.",
        **examples(
            "atoll create secret docker-registry pull --docker-server=reg.example:5000 --docker-username=ci "
            "--docker-password=s3cret",
            "atoll create secret docker-registry pull --from-file=.dockerconfigjson=$HOME/.docker/config.json",
        ),
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument(
        "--docker-server", default=DOCKER_HUB_SERVER, metavar="SERVER", help="the registry (default Docker Hub)"
    )
    parser.add_argument("--docker-username", default="", metavar="USER")
    parser.add_argument("--docker-password", default="", metavar="PASSWORD")
    parser.add_argument("--docker-email", default="", metavar="EMAIL")
    parser.add_argument(
        "--from-file", default="", metavar="[.dockerconfigjson=]PATH", help="a Docker config.json instead of the above"
    )
    add_creation_flags(parser)
    parser.set_defaults(run=lambda args: create_built(args, lambda: build_docker_registry(args)))


def build_docker_registry(args: argparse.Namespace) -> object_pb2.Object:
    """The Secret; CliError (no credential in it) when the flags or the file make no usable config."""
    given = bool(args.docker_username or args.docker_password or args.docker_email)
    if args.from_file:
        if given:
            raise CliError("give either --from-file or --docker-username/--docker-password, not both")
        config, where = _config_file(args.from_file), f"--from-file {bounded(args.from_file, 200)}"
    else:
        if not args.docker_username or not args.docker_password:
            raise CliError("give --docker-username and --docker-password (or --from-file=PATH of a config.json)")
        config = docker_config(args.docker_server, args.docker_username, args.docker_password, args.docker_email)
        where = f"--docker-server {bounded(args.docker_server, 200)}"
    try:
        parse_docker_config(config, where)
    except CredentialsError as err:
        raise CliError(str(err)) from None
    return builders.secret(
        args.name, namespace_for(args), {DOCKER_CONFIG_KEY: config}, secret_type=DOCKER_CONFIG_SECRET_TYPE
    )


def docker_config(server: str, username: str, password: str, email: str) -> bytes:
    """Docker's config.json for one registry, as kubectl writes it."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    entry = {"username": username, "password": password, "auth": auth}
    if email:
        entry["email"] = email
    return json.dumps({"auths": {server: entry}}).encode()


def _config_file(source: str) -> bytes:
    key, equals, path = source.partition("=")
    if not equals:
        key, path = DOCKER_CONFIG_KEY, source
    shown = f"--from-file {bounded(path, 200)}"
    if key != DOCKER_CONFIG_KEY:
        raise CliError(f"{shown}: a docker-registry secret holds one key, {DOCKER_CONFIG_KEY}")
    return data_sources.read_bounded(path, MAX_CONFIG_BYTES, shown)
