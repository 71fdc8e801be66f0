"""The Kubernetes manifests (deploy/kubernetes) carry every setting and probe real endpoints.

No cluster here: the manifests are parsed as YAML and compared with ``Settings`` and the app's routes,
so a new setting, a renamed health path or a missing ``envFrom`` fails here rather than in a rollout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
# Secrets besides the SecretStr fields: the database URL carries the database password.
SECRET_PLAIN_FIELDS = {"database_url"}
PRODUCTION_SECRETS = {"admin_api_key": "k" * 24, "database_url": "postgresql://agent:pw@db:5432/agent"}


def documents() -> list[dict[str, Any]]:
    """Every YAML document under deploy/kubernetes (kustomization files included)."""
    docs: list[dict[str, Any]] = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return docs


def resource(kind: str, name: str) -> dict[str, Any]:
    """The one manifest of ``kind`` named ``name``."""
    [found] = [d for d in documents() if d.get("kind") == kind and d["metadata"]["name"] == name]
    return found


def secret_fields() -> set[str]:
    """Settings fields that belong in the Secret."""
    secret = {name for name, field in Settings.model_fields.items() if _is_secret(field.annotation)}
    return secret | SECRET_PLAIN_FIELDS


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def env_names(fields: set[str]) -> set[str]:
    """Environment variable names of settings fields (pydantic-settings: the upper-cased name)."""
    return {name.upper() for name in fields}


def containers() -> list[dict[str, Any]]:
    """Every container of the Deployments and the Job, with the workload's name."""
    out = []
    for doc in documents():
        if doc.get("kind") in {"Deployment", "Job"}:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                out.append({"workload": doc["metadata"]["name"], **container})
    return out


def test_every_manifest_parses_and_names_its_kind() -> None:
    docs = documents()
    kinds = {d["kind"] for d in docs}
    assert {"ConfigMap", "Secret", "Deployment", "Job", "Service", "HorizontalPodAutoscaler"} <= kinds
    assert all("apiVersion" in d for d in docs)


def test_configmap_and_secret_carry_every_setting_and_nothing_else() -> None:
    config = set(resource("ConfigMap", "wa-agent-config")["data"])
    secret = set(resource("Secret", "wa-agent-secrets")["stringData"])
    all_fields = env_names(set(Settings.model_fields))
    assert secret == env_names(secret_fields()), "the Secret must hold exactly the secret settings"
    assert config == all_fields - secret, "the ConfigMap must hold exactly the other settings"


def test_configmap_values_are_valid_settings_with_the_secret() -> None:
    """The shipped ConfigMap plus a filled Secret is a configuration production accepts."""
    env = {**resource("ConfigMap", "wa-agent-config")["data"]}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items() if v != ""}, **PRODUCTION_SECRETS)
    assert settings.environment == "production"
    assert settings.twilio_validate_signature is True
    assert settings.api_workers == 1  # replicas scale the API, not processes inside a pod
    # Readiness is the pod's own: a queue backlog or a worker outage must not empty the API's Service.
    assert settings.ready_worker_heartbeat_seconds == 0 and settings.ready_max_queue_age_seconds == 0


def test_every_container_reads_the_configmap_and_the_secret() -> None:
    for container in containers():
        refs = {
            (kind, source[kind]["name"])
            for source in container.get("envFrom", [])
            for kind in ("configMapRef", "secretRef")
            if kind in source
        }
        assert refs == {("configMapRef", "wa-agent-config"), ("secretRef", "wa-agent-secrets")}, container["workload"]
        assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]


def test_api_probes_point_at_the_apps_health_endpoints() -> None:
    paths = {getattr(route, "path", None) for route in create_app().routes}
    [api] = [c for c in containers() if c["workload"] == "wa-agent-api"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= paths
    port = api["readinessProbe"]["httpGet"]["port"]
    assert port in {p["name"] for p in api["ports"]}
    config = resource("ConfigMap", "wa-agent-config")["data"]
    assert [p["containerPort"] for p in api["ports"]] == [int(config["PORT"])]
    service = resource("Service", "wa-agent-api")
    assert (
        service["spec"]["selector"].items()
        <= resource("Deployment", "wa-agent-api")["spec"]["template"]["metadata"]["labels"].items()
    )


def test_worker_liveness_runs_the_worker_healthcheck_and_migrations_seed_only_on_request() -> None:
    [worker] = [c for c in containers() if c["workload"] == "wa-agent-worker"]
    assert worker["command"] == ["agentctl", "worker"]
    assert worker["livenessProbe"]["exec"]["command"] == ["agentctl", "healthcheck", "worker"]
    [migrate] = [c for c in containers() if c["workload"] == "wa-agent-migrate"]
    assert migrate["command"][-1] == "agentctl migrate && agentctl seed --if-enabled"
    config = resource("ConfigMap", "wa-agent-config")["data"]
    settings = Settings(_env_file=None, environment="production", seed_demo=config["SEED_DEMO"], **PRODUCTION_SECRETS)
    assert not settings.demo_seeding_enabled, "production manifests must not seed the demo tenant"


def test_optional_hpa_scales_the_worker_deployment_on_queue_depth() -> None:
    hpa = resource("HorizontalPodAutoscaler", "wa-agent-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "wa-agent-worker"
    [metric] = hpa["spec"]["metrics"]
    assert metric["type"] == "External" and "queue_depth" in metric["external"]["metric"]["name"]
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "components" not in kustomization, "the HPA needs a Prometheus adapter: opt-in only"


def kustomize(directory: Path) -> list[str]:
    """Kinds of the resources ``kubectl kustomize`` builds from ``directory``, sorted."""
    built = subprocess.run(
        ["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return sorted(d["kind"] for d in yaml.safe_load_all(built) if d)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_the_base_and_the_autoscaling_overlay(tmp_path: Path) -> None:
    base = ["ConfigMap", "Deployment", "Deployment", "Job", "PodDisruptionBudget", "PodDisruptionBudget"]
    base = sorted([*base, "Secret", "Service"])
    assert kustomize(DEPLOY) == base
    # kustomize accepts only relative paths to another kustomization
    base_dir = os.path.relpath(DEPLOY, tmp_path)
    overlay = {"resources": [base_dir], "components": [os.path.join(base_dir, "components", "queue-autoscaling")]}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    assert kustomize(tmp_path) == sorted([*base, "HorizontalPodAutoscaler"])
