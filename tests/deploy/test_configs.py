"""What can be validated of deploy/ without running containers: the compose file against the compose-spec
schema, the Kubernetes manifests against Kubernetes' own schemas, the Dockerfile's shape, `nginx -t` on the
nginx config and `systemd-analyze verify` on the unit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]

from tests.deploy.nginx import ROOT, check_config, main_conf, render_site
from tests.deploy.tls import self_signed

DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.37.0"  # the newest schemas kubernetes-validate (pinned) ships


def test_compose_file_matches_the_compose_spec() -> None:
    schema = ["--builtin-schema", "vendor.compose-spec"]
    check = [sys.executable, "-m", "check_jsonschema", *schema, str(DEPLOY / "compose.yaml")]
    done = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_check_catches_a_misspelt_key(tmp_path: Path) -> None:
    """The schema check above can fail: the same file with `healthcheck` misspelt is refused."""
    broken = tmp_path / "compose.yaml"
    broken.write_text((DEPLOY / "compose.yaml").read_text().replace("  healthcheck:", "  healthchek:", 1))
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(broken)]
    done = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "healthchek" in done.stdout + done.stderr


def test_compose_runs_two_instances_behind_nginx_with_aof_redis_and_healthchecks() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services: dict[str, Any] = compose["services"]
    apps = [s for s in services.values() if s.get("build", {}).get("dockerfile") == "deploy/Dockerfile"]
    assert len(apps) == 2
    for app in apps:
        env = app["environment"]
        assert env["WHITEBOARD_DATABASE_URL"].startswith("postgresql://") and env["WHITEBOARD_REDIS_URL"]
        assert "WHITEBOARD_SECRET_KEY" in env and "WHITEBOARD_FORWARDED_ALLOW_IPS" in env
        assert "ports" not in app  # reachable only through nginx, whose forwarded headers they believe
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    assert all("healthcheck" in s for s in services.values())
    mounts = services["nginx"]["volumes"]
    assert "./nginx/whiteboard.conf:/etc/nginx/conf.d/default.conf:ro" in mounts  # the VMs' config, unchanged


def _manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def test_kubernetes_manifests_match_the_kubernetes_schemas() -> None:
    import kubernetes_validate  # type: ignore[import-untyped]

    manifests = _manifests()
    kinds = {doc["kind"] for _, doc in manifests}
    assert {"Deployment", "Service", "Ingress", "PodDisruptionBudget", "ConfigMap", "Secret"} <= kinds
    for path, doc in manifests:
        # strict: a misspelt or unknown field is an error, not ignored as a cluster would.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"]["name"], path


def test_the_validator_catches_a_misspelt_field() -> None:
    """The schema check above can fail: a Deployment with a typo in its probes is refused."""
    import kubernetes_validate
    from kubernetes_validate.utils import ValidationError  # type: ignore[import-untyped]

    [deployment] = [doc for _, doc in _manifests() if doc["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGett"] = container["readinessProbe"].pop("httpGet")
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_deployment_runs_hardened_with_probes_resources_and_shared_settings() -> None:
    docs = {doc["kind"]: doc for _, doc in _manifests()}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert {s.get("configMapRef", s.get("secretRef"))["name"] for s in container["envFrom"]} == {"whiteboard"}
    labels = docs["Deployment"]["spec"]["selector"]["matchLabels"]
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert docs["Service"]["spec"]["selector"] == labels
    annotations = docs["Ingress"]["metadata"]["annotations"]
    heartbeat = 15  # Settings.heartbeat_secs' default
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > 2 * heartbeat
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) > 2 * heartbeat
    assert all(key.startswith("WHITEBOARD_") for key in docs["ConfigMap"]["data"])
    assert all(key.startswith("WHITEBOARD_") for key in docs["Secret"]["stringData"])


def test_dockerfile_is_multi_stage_non_root_with_a_stdlib_healthcheck() -> None:
    parser = DockerfileParser(str(DEPLOY / "Dockerfile"))
    instructions = parser.structure
    froms = [i["value"] for i in instructions if i["instruction"] == "FROM"]
    assert len(froms) == 2 and all(f.startswith("python:3.11-slim") for f in froms)
    runs = " ".join(i["value"] for i in instructions if i["instruction"] == "RUN")
    assert "-c constraints.txt ." in runs  # the pinned runtime dependencies, no extras
    assert "[test" not in runs and "[dev" not in runs and "[loadtest" not in runs
    final = instructions[max(n for n, i in enumerate(instructions) if i["instruction"] == "FROM") :]
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    [health] = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    assert "/healthz" in health and "urllib.request" in health and "curl" not in health
    # The healthcheck's command is valid Python, run here as the image would run it (against nothing: it fails).
    code = health.split('"-c", "', 1)[1].rsplit('"]', 1)[0]
    compile(code, "HEALTHCHECK", "exec")


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    site = render_site(tmp_path, http_port=80, https_port=443, upstreams=[8001, 8002], cert=cert, key=key)
    done = check_config(main_conf(tmp_path, site), tmp_path)
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr


def test_nginx_t_refuses_a_broken_config(tmp_path: Path) -> None:
    """`nginx -t` above can fail: the same site with a directive misspelt is refused."""
    cert, key = self_signed(tmp_path)
    site = render_site(tmp_path, http_port=80, https_port=443, upstreams=[8001], cert=cert, key=key)
    site.write_text(site.read_text().replace("proxy_read_timeout", "proxy_read_timeuot"))
    done = check_config(main_conf(tmp_path, site), tmp_path)
    assert done.returncode != 0 and "proxy_read_timeuot" in done.stderr


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    unit = (DEPLOY / "systemd" / "whiteboard.service").read_text()
    for line in ("User=whiteboard", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=whiteboard",
                 "PrivateTmp=yes", "CapabilityBoundingSet="):  # fmt: skip
        assert f"\n{line}\n" in unit, line
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd); the unit's lines were checked above")
    # Verified as installed, with ExecStart pointing at this checkout's `whiteboard` (verify checks it exists).
    whiteboard = Path(sys.executable).with_name("whiteboard")
    copy = tmp_path / "whiteboard.service"
    copy.write_text(unit.replace("/opt/whiteboard/bin/whiteboard", str(whiteboard)))
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    # verify exits 0 on an unknown key and only warns: any output is a finding.
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stdout + done.stderr
