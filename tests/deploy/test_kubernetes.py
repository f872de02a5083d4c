"""deploy/k8s: each overlay rendered, valid for the cluster's Kubernetes, and shaped as
the seed's deployment says (probes, resources, non-root, drains, autoscaling)."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest

from tests.support import kustomize
from tests.support.deploy import DEPLOY

pytestmark = pytest.mark.files

# The EKS version deploy/terraform asks for (variable kubernetes_version).
KUBERNETES_VERSION = "1.33.0"

# The seed's ranges: chat-service 256–512 MiB and 0.25–0.5 CPU; websocket-service
# 512 MiB–1 GiB and 0.5–1 CPU. The worker is sized as the chat service.
MIB = 2**20
SEED_RANGES = {
    "api": {"memory": (256 * MIB, 512 * MIB), "cpu": (0.25, 0.5)},
    "api-ws": {"memory": (512 * MIB, 1024 * MIB), "cpu": (0.5, 1.0)},
    "worker": {"memory": (256 * MIB, 512 * MIB), "cpu": (0.25, 0.5)},
}
SERVING = ("api", "api-ws")
SECRET_SETTINGS = re.compile(
    r"(DATABASE_URL|REDIS_URL|CIPHER_KEY|JWT_SECRET|TOKEN|SECRET|PASSWORD)"
)


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def quantity(value: str | int | float) -> float:
    text = str(value)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 0.001}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def test_every_manifest_is_valid_for_the_clusters_kubernetes(rendered, overlay):
    for manifest in rendered[overlay]:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_every_role_is_a_deployment_of_the_one_pinned_image(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    assert set(deployments) == {"api", "api-ws", "worker"}
    images = {container(d)["image"] for d in deployments.values()}
    assert len(images) == 1
    (image,) = images
    assert ":" in image
    assert not image.endswith(":latest")
    assert container(deployments["worker"])["args"] == ["projections", "run"]
    for name in SERVING:
        assert container(deployments[name])["args"][:1] == ["serve"]
        assert "0.0.0.0" in container(deployments[name])["args"]


def test_serving_pods_are_probed_on_health_and_ready(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    for name in SERVING:
        pod = container(deployments[name])
        port_names = {p["name"] for p in pod["ports"]}
        assert pod["livenessProbe"]["httpGet"]["path"] == "/health"
        assert pod["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert pod["startupProbe"]["httpGet"]["path"] == "/health"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert pod[probe]["httpGet"]["port"] in port_names
        assert {p["containerPort"] for p in pod["ports"]} == {8000}


def test_resources_stay_within_the_seeds_ranges(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    for name, ranges in SEED_RANGES.items():
        resources = container(deployments[name])["resources"]
        for resource, (low, high) in ranges.items():
            request = quantity(resources["requests"][resource])
            limit = quantity(resources["limits"][resource])
            assert low <= request <= limit <= high, (name, resource, request, limit)


def test_pods_run_as_a_non_root_user_on_a_read_only_root(rendered, overlay):
    for deployment in of_kind(rendered[overlay], "Deployment").values():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["automountServiceAccountToken"] is False
        pod = container(deployment)
        assert pod["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["securityContext"]["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"]: m["name"] for m in pod["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert "emptyDir" in volumes[mounts["/var/lib/companion"]]


def test_no_secret_value_is_committed(rendered, overlay):
    manifests = rendered[overlay]
    assert of_kind(manifests, "Secret") == {}
    for config in of_kind(manifests, "ConfigMap").values():
        assert not [key for key in config["data"] if SECRET_SETTINGS.search(key)]
    for deployment in of_kind(manifests, "Deployment").values():
        pod = container(deployment)
        for variable in pod["env"]:
            if SECRET_SETTINGS.search(variable["name"]):
                assert "value" not in variable, variable["name"]
                assert variable["valueFrom"]["secretKeyRef"]["name"] == "companion-secrets"
        required = {
            v["name"] for v in pod["env"] if not v["valueFrom"]["secretKeyRef"].get("optional")
        }
        assert {"COMPANION_DATABASE_URL", "COMPANION_CIPHER_KEY", "COMPANION_JWT_SECRET"} <= (
            required
        )


def test_api_pods_leave_projections_to_the_worker_and_trust_the_ingress(rendered, overlay):
    config = of_kind(rendered[overlay], "ConfigMap")["companion-config"]["data"]
    assert config["COMPANION_EMBEDDED_PROJECTIONS"] == "false"
    assert config["COMPANION_ENV"] == "production"
    assert config["COMPANION_TRUSTED_PROXIES"].startswith('["')
    for deployment in of_kind(rendered[overlay], "Deployment").values():
        sources = container(deployment)["envFrom"]
        assert {"configMapRef": {"name": "companion-config"}} in sources


def test_every_deployment_has_a_disruption_budget_selecting_its_pods(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    budgets = of_kind(rendered[overlay], "PodDisruptionBudget")
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selecting = [
            b
            for b in budgets.values()
            if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(selecting) == 1, name
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_api_scales_on_cpu_between_its_overlays_bounds(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    autoscalers = of_kind(rendered[overlay], "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(SERVING)
    for name, autoscaler in autoscalers.items():
        target = autoscaler["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert target["apiVersion"] == deployments[name]["apiVersion"]
        (metric,) = autoscaler["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        low, high = autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]
        assert 2 <= low <= deployments[name]["spec"]["replicas"] <= high


def test_the_large_overlay_is_larger_than_the_small(rendered):
    def bounds(manifests):
        return {
            name: (a["spec"]["minReplicas"], a["spec"]["maxReplicas"])
            for name, a in of_kind(manifests, "HorizontalPodAutoscaler").items()
        }

    small, large = bounds(rendered["small"]), bounds(rendered["large"])
    for name in SERVING:
        assert large[name][0] >= small[name][0]
        assert large[name][1] > small[name][1]
    workers = {
        o: of_kind(rendered[o], "Deployment")["worker"]["spec"]["replicas"] for o in rendered
    }
    assert workers["large"] > workers["small"] >= 1


def test_sockets_drain_before_a_pod_stops(rendered, overlay):
    for name in SERVING:
        deployment = of_kind(rendered[overlay], "Deployment")[name]
        command = container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep"
        pause = int(command[1])
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert pause >= 5
        assert pause + 15 <= grace
    ws_grace = of_kind(rendered[overlay], "Deployment")["api-ws"]["spec"]["template"]["spec"]
    assert ws_grace["terminationGracePeriodSeconds"] >= 45


def test_pods_spread_over_zones_and_nodes(rendered, overlay):
    for deployment in of_kind(rendered[overlay], "Deployment").values():
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        keys = {c["topologyKey"] for c in spread}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        for constraint in spread:
            assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()


def test_the_ingress_sends_sockets_to_api_ws_and_keeps_them_open(rendered, overlay):
    (ingress,) = of_kind(rendered[overlay], "Ingress").values()
    services = of_kind(rendered[overlay], "Service")
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert routes == {"/api/v1/ws": "api-ws", "/": "api"}
    for name in routes.values():
        selector = services[name]["spec"]["selector"]
        labels = of_kind(rendered[overlay], "Deployment")[name]["spec"]["template"]["metadata"]
        assert selector.items() <= labels["labels"].items()


def test_the_migration_job_is_valid_and_as_locked_down_as_the_pods():
    (job,) = kustomize.load_documents(DEPLOY / "k8s" / "migrate-job.yaml")
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    spec = job["spec"]["template"]["spec"]
    (pod,) = spec["containers"]
    assert pod["args"] == ["store", "migrate"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["readOnlyRootFilesystem"] is True
    assert all("secretKeyRef" in variable["valueFrom"] for variable in pod["env"])
    assert job["spec"]["backoffLimit"] == 0
