"""A Dockerfile linter for the rules of hadolint that matter here (hadolint itself is a Haskell binary
that no reachable registry ships). Parsing is BuildKit's own parser, through PyPI's `dockerfile` package,
so a syntax error fails too. Prints one JSON object per finding; exit 1 if there is any.

Rules (hadolint's numbers): DL3000 WORKDIR absolute; DL3002 the last USER is not root; DL3006 every
image has a tag; DL3007 no `latest`; DL3008* apt-get install only with --no-install-recommends (DL3015)
and the lists removed in the same RUN (DL3009); DL3020 COPY, not ADD, for files; DL3025 ENTRYPOINT and
CMD in JSON form; DL3042 pip without a cache; DL4006 a RUN with a pipe runs under `SHELL [... -o pipefail]`;
DL4000 no MAINTAINER. Plus: a HEALTHCHECK and a numeric non-root USER in the final stage.
(*DL3008, pinning every Debian package version, is not applied: a security update must reach the image
on rebuild, and Debian's stable releases do not change package behaviour.)
"""

from __future__ import annotations

import json
import re
import sys

import dockerfile


def lint(path: str) -> list[dict]:
    commands = dockerfile.parse_file(path)
    findings: list[dict] = []

    def finding(rule: str, command, message: str) -> None:
        findings.append({"rule": rule, "line": command.start_line, "message": message})

    args = {}
    pipefail = False
    final_stage_start = max(i for i, c in enumerate(commands) if c.cmd == "FROM")
    user, healthcheck = None, False
    for index, command in enumerate(commands):
        text = " ".join(command.value)
        if command.cmd == "ARG" and "=" in text:
            name, _, default = text.partition("=")
            args[name] = default
        elif command.cmd == "FROM":
            pipefail = False
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), command.value[0])
            stages = [c.value[2] for c in commands[:index] if c.cmd == "FROM" and len(c.value) > 2]
            if image not in stages and image != "scratch":
                if ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
                    finding("DL3006", command, f"image {image} has no tag")
                elif image.endswith(":latest"):
                    finding("DL3007", command, f"image {image} uses latest")
        elif command.cmd == "SHELL":
            pipefail = "pipefail" in command.value
        elif command.cmd == "WORKDIR" and not command.value[0].startswith(("/", "$")):
            finding("DL3000", command, "WORKDIR must be absolute")
        elif command.cmd == "ADD" and not re.match(r"https?://", command.value[0]):
            finding("DL3020", command, "use COPY for files and folders")
        elif command.cmd in ("ENTRYPOINT", "CMD") and not command.json:
            finding("DL3025", command, f"{command.cmd} in JSON form, so signals reach the process")
        elif command.cmd == "MAINTAINER":
            finding("DL4000", command, "MAINTAINER is deprecated; use a LABEL")
        elif command.cmd == "RUN":
            _check_run(command, text, pipefail, finding)
        if index >= final_stage_start:
            if command.cmd == "USER":
                user = command.value[0]
            healthcheck |= command.cmd == "HEALTHCHECK"
    if user is None or user.split(":")[0] in ("root", "0"):
        findings.append({"rule": "DL3002", "line": 0, "message": "the final stage must switch to a non-root USER"})
    elif not user.split(":")[0].isdigit():
        findings.append({"rule": "USER", "line": 0, "message": "use a numeric USER so runAsNonRoot can verify it"})
    if not healthcheck:
        findings.append({"rule": "HEALTHCHECK", "line": 0, "message": "the final stage has no HEALTHCHECK"})
    return findings


def _check_run(command, text: str, pipefail: bool, finding) -> None:
    if "apt-get install" in text:
        if "--no-install-recommends" not in text:
            finding("DL3015", command, "apt-get install without --no-install-recommends")
        if "rm -rf /var/lib/apt/lists" not in text:
            finding("DL3009", command, "remove /var/lib/apt/lists in the RUN that installs")
    if re.search(r"\bpip3? install\b", text) and "--no-cache-dir" not in text:
        finding("DL3042", command, "pip install without --no-cache-dir")
    if re.search(r"[^|]\|[^|]", text) and not pipefail:
        finding("DL4006", command, "a pipe without SHELL [..., -o, pipefail]: a failing left side would pass")


if __name__ == "__main__":
    results = [finding for path in sys.argv[1:] for finding in lint(path)]
    for result in results:
        print(json.dumps(result))
    sys.exit(1 if results else 0)
