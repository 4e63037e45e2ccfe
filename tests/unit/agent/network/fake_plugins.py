"""A scriptable CNI plugin for tests: one Python script installed under several plugin names.

Each call appends ``{"plugin", "env", "config"}`` to ``calls.jsonl`` beside it. ADD prints the
prevResult with one more interface named after the plugin (or, first in a list, a result with
``address`` from the config); a config ``"fail": "ADD"`` makes that command print the spec's
error object and exit 1; ``"garbage": true`` prints a non-JSON result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCRIPT = '''#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
config = json.load(sys.stdin)
command = os.environ.get("CNI_COMMAND", "")
env = {{k: v for k, v in os.environ.items() if k.startswith("CNI_")}}
with open(os.path.join(os.path.dirname(sys.argv[0]), "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"plugin": name, "env": env, "config": config}}) + "\\n")
if config.get("fail") == command:
    print(json.dumps({{"cniVersion": config["cniVersion"], "code": 7, "msg": "no bridge for you",
                      "details": "details of " + name}}))
    sys.exit(1)
if command == "VERSION":
    print(json.dumps({{"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0"]}}))
elif command == "ADD":
    if config.get("garbage"):
        print("not json")
        sys.exit(0)
    result = config.get("prevResult") or {{"cniVersion": config["cniVersion"], "interfaces": [], "ips": []}}
    result["interfaces"].append({{"name": name, "sandbox": os.environ["CNI_NETNS"]}})
    if "address" in config:
        result["ips"].append({{"address": config["address"], "gateway": "10.1.0.1",
                              "interface": len(result["interfaces"]) - 1}})
    print(json.dumps(result))
'''


def install(bin_dir: Path, *names: str) -> Path:
    """Install the fake under ``names`` in ``bin_dir``; returns the calls log path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = bin_dir / name
        path.write_text(SCRIPT.format(python=sys.executable))
        path.chmod(0o755)
    return bin_dir / "calls.jsonl"


def calls(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
