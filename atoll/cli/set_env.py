"""``atoll set env KIND/NAME... KEY=VALUE... KEY-... [-c CONTAINER]``: set and remove environment
variables of containers, as ``kubectl set env`` does, in the pod spec each object runs or stamps
out (a Pod's, a Deployment's pod template: a rollout).

Every container unless ``-c`` names one (a container the object lacks is refused in one line,
naming those it has). A variable set replaces one of that name in place (also one read from a
ConfigMap or Secret), a new one is appended; ``KEY-`` removes it. Each object is written with the
revision read; when nothing changes it prints ``env unchanged`` (a second run changes nothing).
"""

from __future__ import annotations

import argparse
from typing import Any

from atoll.cli.key_changes import split_key_changes
from atoll.cli.modify import Change
from atoll.cli.parser import examples
from atoll.cli.setting import (
    add_container_flag,
    add_objects_then_changes,
    containers_named,
    run_changes,
)
from atoll.v1 import object_pb2, pod_pb2


def add_env_parser(actions: Any) -> None:
    """``set env`` under the ``set`` verb (set_fields.py)."""
    env = actions.add_parser(
        "env",
        help="set or remove environment variables of containers of pods and deployments",
        description="Set (KEY=VALUE) or remove (KEY-) environment variables of a pod or a deployment's pods.",
        **examples(
            "atoll set env deploy/web MODE=prod LEVEL=debug",
            "atoll set env deployment web DEBUG- -c app -n prod",
        ),
    )
    add_objects_then_changes(env, "KEY=VALUE to set and KEY- to remove")
    add_container_flag(env)
    env.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def split(words: list[str]) -> tuple[list[str], Change]:
        names, setting, removing = split_key_changes(words, "environment variable", _no_problem)
        return names, lambda obj: set_env(obj, setting, removing, args.containers)

    return run_changes(args, "set env", split, ("env updated", "env unchanged"))


def _no_problem(key: str, value: str) -> str | None:
    """Any name but an empty one (the API server's rule: no '=', which KEY=VALUE cannot hold)."""
    return "the name may not be empty" if not key else None


def set_env(
    obj: object_pb2.Object, setting: dict[str, str], removing: list[str], container: str
) -> object_pb2.Object | None:
    """``obj`` with the variables set and removed in ``container`` (``*``: every one), or None
    when that changes nothing; CliError for an object without containers or without that one."""
    changed = False
    for target in containers_named(obj, [container]):
        wanted = _changed_env(target.env, setting, removing)
        if wanted != list(target.env):
            del target.env[:]
            target.env.extend(wanted)
            changed = True
    return obj if changed else None


def _changed_env(current: Any, setting: dict[str, str], removing: list[str]) -> list[pod_pb2.EnvVar]:
    """Copies of ``current`` with ``setting`` replacing in place or appended and ``removing`` gone."""
    wanted: list[pod_pb2.EnvVar] = []
    for variable in current:
        if variable.name in removing:
            continue
        if variable.name in setting:
            wanted.append(pod_pb2.EnvVar(name=variable.name, value=setting[variable.name]))
        else:
            copy = pod_pb2.EnvVar()
            copy.CopyFrom(variable)
            wanted.append(copy)
    present = {variable.name for variable in wanted}
    wanted += [pod_pb2.EnvVar(name=name, value=value) for name, value in setting.items() if name not in present]
    return wanted
