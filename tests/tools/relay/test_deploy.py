"""The relay's Kubernetes manifests validate offline against the API's schemas."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "tools" / "relay" / "deploy"
DOCUMENTS = [(path.name, n, doc) for path in sorted(DEPLOY.glob("*.yaml"))
             for n, doc in enumerate(yaml.safe_load_all(path.read_text())) if doc]


@pytest.mark.parametrize(("name", "index", "document"), DOCUMENTS,
                         ids=[f"{n}:{d['kind']}" for n, _, d in DOCUMENTS])
def test_manifest_validates(name: str, index: int, document: dict[str, object]) -> None:
    kubernetes_validate.validate(document, "1.30.0", strict=True)


def test_the_fleet_is_all_there() -> None:
    kinds = sorted(str(d["kind"]) for _, _, d in DOCUMENTS)
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
                 "StatefulSet"):
        assert kind in kinds


def test_a_broken_manifest_is_caught() -> None:
    deployment = next(d for _, _, d in DOCUMENTS if d["kind"] == "Deployment")
    spec = deployment["spec"]
    assert isinstance(spec, dict)
    broken = {**deployment, "spec": {**spec, "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)
