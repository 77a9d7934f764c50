"""docker-compose.yml keeps each secret in the one service that needs it."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    env = dict(os.environ, REDIS_PASSWORD="check-only", POSTGRES_PASSWORD="check-only")
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def volumes(service: dict) -> dict[str, str]:
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        mounts[source] = target
    return mounts


def secrets(service: dict) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def test_only_the_back_office_holds_reviewer_keys_and_its_secret_key(compose):
    for name, service in compose["services"].items():
        if name == "backoffice":
            assert "backoffice-data" in volumes(service)
            assert "backoffice_secret_key" in secrets(service)
        else:
            assert "backoffice-data" not in volumes(service), name
            assert "backoffice_secret_key" not in secrets(service), name


def test_the_back_office_reads_ciphertext_but_cannot_change_it(compose):
    mounts = compose["services"]["backoffice"]["volumes"]
    files = [m for m in mounts if "files" in str(m)]
    assert files and all(
        (m.endswith(":ro") if isinstance(m, str) else m.get("read_only")) for m in files
    )


def test_the_back_office_is_not_on_the_public_network(compose):
    backoffice = compose["services"]["backoffice"]
    assert set(backoffice["networks"]) == {"backend"}
    for port in backoffice.get("ports", []) + compose["services"]["public"].get("ports", []):
        assert str(port).startswith("127.0.0.1:") or port.get("host_ip") == "127.0.0.1"


def test_every_service_runs_hardened(compose):
    for name, service in compose["services"].items():
        assert service.get("read_only") is True, name
        assert "ALL" in service.get("cap_drop", []), name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
