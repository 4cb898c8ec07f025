"""What a deploy from a fresh machine relies on, checked offline: the zips cannot be of another architecture
than the functions, one venv serves Pulumi and the tests, the SDK versions are pinned to the tested ones, and
`make deploy` builds the zips before Pulumi runs."""

import os
import re
import subprocess
import zipfile

import pytest

from components.rust_lambda import ELF_MACHINES, check_zip_architectures, zip_architecture

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fake_zip(path, machine):
    header = b"\x7fELF" + bytes(14) + machine.to_bytes(2, "little") + bytes(44)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bootstrap", header)


def test_the_architecture_of_a_zip_is_read_from_its_elf_header(tmp_path):
    for machine, architecture in ELF_MACHINES.items():
        fake_zip(tmp_path / f"{architecture}.zip", machine)
        assert zip_architecture(str(tmp_path / f"{architecture}.zip")) == architecture
    assert zip_architecture(str(tmp_path / "missing.zip")) is None


def test_a_zip_of_the_other_architecture_stops_the_deploy(tmp_path, monkeypatch):
    target = tmp_path / "target" / "lambda"
    for binary, machine in (("healthz", 0x3E), ("login", 0xB7)):
        (target / binary).mkdir(parents=True)
        fake_zip(target / binary / "bootstrap.zip", machine)
    work = tmp_path / "infrastructure"
    work.mkdir()
    monkeypatch.chdir(work)
    check_zip_architectures(["login", "not-built-yet"], "arm64")
    with pytest.raises(ValueError, match="healthz"):
        check_zip_architectures(["healthz", "login"], "arm64")


def test_one_venv_and_the_tested_sdk_versions():
    with open(os.path.join(REPO, "infrastructure", "Pulumi.yaml")) as f:
        assert re.search(r"^\s*virtualenv:\s*\.\./\.tools/venv\s*$", f.read(), re.M)
    with open(os.path.join(REPO, "infrastructure", "requirements.txt")) as f:
        pins = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[a-z0-9-]+==[0-9.]+", pin) for pin in pins), pins
    import importlib.metadata
    for pin in pins:
        name, version = pin.split("==")
        assert importlib.metadata.version(name) == version, f"the tests run {name} {version}"


def make_dry_run(*args):
    return subprocess.run(["make", "-s", "-n", "-C", REPO, *args], capture_output=True, text=True, check=True).stdout


def test_make_deploy_builds_the_zips_first_even_in_parallel():
    lines = make_dry_run("-j4", "deploy", "STACK=dev").splitlines()
    package = next(i for i, line in enumerate(lines) if "cargo lambda build" in line or "package" in line)
    pulumi_up = next(i for i, line in enumerate(lines) if "deploy-infra" in line or "pulumi up" in line)
    assert package < pulumi_up, lines


def test_make_deploy_installs_uplot_before_pulumi_uploads_the_web_client():
    lines = make_dry_run("deploy", "STACK=dev", "TOOLS_DIR=/nonexistent-tools").replace("\\\n", " ").splitlines()
    npm = next(i for i, line in enumerate(lines) if "npm install" in line and "uplot@" in line)
    pulumi_up = next(i for i, line in enumerate(lines) if "deploy-infra" in line or "pulumi up" in line)
    assert npm < pulumi_up, lines


def test_make_install_needs_neither_java_nor_npm():
    commands = make_dry_run("install", "TOOLS_DIR=/nonexistent-tools")
    assert "npm" not in commands and "java" not in commands, commands
    assert "requirements.txt" in commands and "cargo-lambda" in commands


def test_the_readme_invokes_replay_asynchronously():
    """A synchronous `aws lambda invoke` waits at most the CLI's socket read timeout (60 s by default, the
    AWS CLI's `--cli-read-timeout`) and then retries the call: a replay running longer would be started
    again. Every invocation the README shows is asynchronous (`--invocation-type Event`)."""
    readme = open(os.path.join(REPO, "README.md")).read()
    invocations = re.findall(r"aws lambda invoke --[^\n]*(?:\\\n[^\n]*)*", readme)
    assert invocations
    for invocation in invocations:
        assert "--invocation-type Event" in invocation, invocation


def test_the_readme_lists_the_log_delivery_permissions_access_logs_need():
    """API Gateway's logging page for HTTP APIs: the deploying identity needs these to turn access logs on."""
    readme = open(os.path.join(REPO, "README.md")).read()
    for action in ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                   "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                   "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"):
        assert f"`{action}`" in readme, action
