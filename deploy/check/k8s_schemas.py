"""Convert the Kubernetes JSON schemas shipped in PyPI's kubernetes-validate to kubeconform's local layout.

kubernetes-validate keeps one folder per version, each file pointing at a shared ``/api/_definitions.json``
that its own resolver serves under an https $id; kubeconform reads plain files, so the ids go and the
references become relative.
Usage: python k8s_schemas.py SOURCE_PACKAGE_DIR OUT_DIR VERSION   (e.g. 1.33.0)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def convert(package_dir: Path, out: Path, version: str) -> Path:
    for variant in ("local", "local-strict"):
        source = package_dir / "kubernetes-json-schema" / f"v{version}-{variant}"
        if not source.is_dir():
            raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version} ({source})")
        target = out / f"v{version}-standalone{variant.removeprefix('local')}"
        target.mkdir(parents=True, exist_ok=True)
        for schema in source.glob("*.json"):
            document = json.loads(schema.read_text())
            document.pop("$id", None)  # an https $id would make the relative references resolve on the web
            text = json.dumps(document).replace('"/api/_definitions.json#', '"_definitions.json#')
            (target / schema.name).write_text(text)
    return out


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
