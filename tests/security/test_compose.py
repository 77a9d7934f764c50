"""docker-compose.yml keeps each secret in the one service that needs it, publishes only the
reverse proxy, and keeps the back office off every network the proxy or the public onion service
is on."""

import http.server
import ipaddress
import os
import re
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    env = dict(
        os.environ,
        REDIS_PASSWORD="check-only",
        POSTGRES_PASSWORD="check-only",
        PUBLIC_DOMAIN="tips.example.org",
    )
    # With every profile, so that the optional services are checked too.
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "--profile", "backoffice-onion", "config"],
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


def read_only_mounts(service: dict) -> set[str]:
    """Targets of the service's read-only volumes and bind mounts."""
    targets = set()
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) > 2 and "ro" in parts[2].split(","):
                targets.add(parts[1])
        elif volume.get("read_only"):
            targets.add(volume["target"])
    return targets


def networks(service: dict) -> set[str]:
    return set(service.get("networks", []))


def fixed_address(service: dict, network: str) -> str:
    return service["networks"][network]["ipv4_address"]


def subnet(compose: dict, network: str) -> ipaddress.IPv4Network:
    (config,) = compose["networks"][network]["ipam"]["config"]
    return ipaddress.ip_network(config["subnet"])


def published_beyond_loopback(service: dict) -> list:
    """The service's published ports that listen on an address other than loopback."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, str):
            host_ip = port.split(":")[0] if port.count(":") == 2 else ""
        else:
            host_ip = port.get("host_ip", "")
        if host_ip != "127.0.0.1":
            ports.append(port)
    return ports


def torrc(name: str) -> list[tuple[str, str]]:
    """(option, value) pairs of deploy/tor/<name>, comments and blank lines left out."""
    options = []
    for line in (ROOT / "deploy" / "tor" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            option, _, value = line.partition(" ")
            options.append((option, value.strip()))
    return options


def hidden_service_target(name: str) -> tuple[str, int]:
    (target,) = [value.split()[1] for option, value in torrc(name) if option == "HiddenServicePort"]
    address, port = target.rsplit(":", 1)
    return address, int(port)


def caddyfile_blocks() -> list[tuple[str, list[str]]]:
    """Top-level blocks of deploy/Caddyfile: (header, directive lines at any depth inside)."""
    blocks: list[tuple[str, list[str]]] = []
    depth = 0
    for raw in (ROOT / "deploy" / "Caddyfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if depth == 0:
            assert line.endswith("{"), f"unexpected top-level line: {line}"
            blocks.append((line[:-1].strip(), []))
        else:
            blocks[-1][1].append(line)
        depth += line.count("{") - line.count("}")
    assert depth == 0
    return blocks


CADDY_SIZE_UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "KB": 10**3, "MB": 10**6, "GB": 10**9}


def caddy_size(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMG]i?B)", text).groups()
    return int(number) * CADDY_SIZE_UNITS[unit]


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


def test_only_the_proxy_is_published_beyond_loopback(compose):
    published = {
        name: published_beyond_loopback(service)
        for name, service in compose["services"].items()
        if published_beyond_loopback(service)
    }
    assert set(published) == {"proxy"}
    assert {
        int(port["target"]) if isinstance(port, dict) else int(port.split(":")[-1].split("/")[0])
        for port in published["proxy"]
    } == {80, 443}
    assert "ports" not in compose["services"]["public"]


def test_the_back_office_shares_no_network_with_the_proxy_or_the_public_onion(compose):
    services = compose["services"]
    backoffice = networks(services["backoffice"])
    for name in ("proxy", "tor"):
        assert not networks(services[name]) & backoffice, name
    assert networks(services["proxy"]) == networks(services["tor"]) == {"frontend"}
    # The back office's own onion service joins the back office's network, and only that.
    assert networks(services["tor-backoffice"]) == backoffice == {"backend"}


def test_the_back_office_onion_service_is_optional(compose):
    assert compose["services"]["tor-backoffice"]["profiles"] == ["backoffice-onion"]
    for name, service in compose["services"].items():
        if name != "tor-backoffice":
            assert "profiles" not in service, name


def test_the_proxy_and_tor_read_their_configuration_read_only(compose):
    services = compose["services"]
    assert {"/etc/caddy/Caddyfile", "/etc/caddy/certs"} <= read_only_mounts(services["proxy"])
    assert "/etc/tor/torrc" in read_only_mounts(services["tor"])
    assert {"/etc/tor/torrc", "/etc/tor/authorized_clients"} <= read_only_mounts(
        services["tor-backoffice"]
    )
    mounted = {source for service in services.values() for source in volumes(service)}
    for config in ("deploy/Caddyfile", "deploy/tor/torrc", "deploy/tor/torrc-backoffice"):
        assert str(ROOT / config) in mounted, config


def test_the_proxy_keeps_no_access_log():
    blocks = caddyfile_blocks()
    global_options, sites = blocks[0], blocks[1:]
    assert global_options[0] == ""
    assert sites
    for header, lines in sites:
        assert not [line for line in lines if line.split()[0] in ("log", "log_append")], header
    # Caddy's own log is filtered: no request (address, headers) and no remote address.
    assert [line for line in global_options[1] if line.startswith("log ")] == ["log default {"]
    for field in ("request", "remote", "remote_ip", "client_ip"):
        assert f"{field} delete" in global_options[1], field
    assert "level INFO" in global_options[1]


def test_the_proxy_streams_bodies_up_to_what_the_public_site_accepts(compose, settings):
    lines = [line for _, block in caddyfile_blocks() for line in block]
    assert not [line for line in lines if line.startswith("request_buffers")]
    (max_size,) = [line.split()[1] for line in lines if line.startswith("max_size")]
    default = re.fullmatch(r"\{\$TIPLINE_MAX_REQUEST_BODY:(\w+)\}", max_size).group(1)
    compose_default = compose["services"]["proxy"]["environment"]["TIPLINE_MAX_REQUEST_BODY"]
    # The public site refuses a request declaring more than this with its own page.
    largest_accepted = settings.MAX_ATTACHMENT_BYTES * settings.MAX_FILES + 2**20
    assert caddy_size(default) == caddy_size(compose_default) > largest_accepted


def test_the_public_site_is_reached_only_through_the_proxy(compose):
    public = compose["services"]["public"]
    assert public["environment"]["TIPLINE_BEHIND_TLS_PROXY"] == "true"
    assert networks(public) == {"frontend", "backend"}
    # Nothing else that takes connections from outside is on `frontend`.
    on_frontend = {n for n, s in compose["services"].items() if "frontend" in networks(s)}
    assert on_frontend == {"public", "proxy", "tor"}


def test_the_onion_service_points_at_the_proxys_onion_listener(compose):
    address, port = hidden_service_target("torrc")
    proxy = compose["services"]["proxy"]
    assert fixed_address(proxy, "frontend") == address
    assert ipaddress.ip_address(address) in subnet(compose, "frontend")
    assert f"http://:{port}" in [header for header, _ in caddyfile_blocks()]
    assert port not in {80, 443}  # the onion listener is never the published one


def test_the_back_office_onion_service_points_at_the_back_office(compose):
    address, port = hidden_service_target("torrc-backoffice")
    backoffice = compose["services"]["backoffice"]
    assert fixed_address(backoffice, "backend") == address
    assert ipaddress.ip_address(address) in subnet(compose, "backend")
    assert backoffice["command"][-1] == f"0.0.0.0:{port}"
    tor = compose["services"]["tor-backoffice"]
    assert tor["entrypoint"] == ["/usr/local/bin/require-client-auth"]


def test_tor_runs_onion_services_only(compose):
    for name in ("torrc", "torrc-backoffice"):
        options = dict(torrc(name))
        assert [value for option, value in torrc(name) if option == "SocksPort"] == ["0"], name
        assert options["Sandbox"] == "1", name
        assert options["DataDirectory"] == "/var/lib/tor", name
        assert options["HiddenServiceDir"].startswith("/var/lib/tor/"), name
        assert not {"ORPort", "DirPort", "ControlPort", "ExitRelay"} & set(options), name
    for name in ("tor", "tor-backoffice"):
        mounts = volumes(compose["services"][name])
        assert mounts[f"{name}-data"] == "/var/lib/tor", name


def test_every_service_runs_as_an_unprivileged_user_but_the_proxy(compose):
    """The proxy runs as the image's root, stripped of every capability but one (below)."""
    dockerfiles = {
        "tipline:local": ROOT / "Dockerfile",
        "tipline-tor:local": ROOT / "deploy/tor/Dockerfile",
    }
    for name, service in compose["services"].items():
        if name == "proxy":
            continue
        if "user" in service:
            assert service["user"] not in ("root", "0"), name
        else:
            users = re.findall(r"^USER (\S+)$", dockerfiles[service["image"]].read_text(), re.M)
            assert users and users[-1] not in ("root", "0"), name


def test_only_the_proxy_gets_a_capability_back(compose):
    for name, service in compose["services"].items():
        expected = ["NET_BIND_SERVICE"] if name == "proxy" else []
        assert service.get("cap_add", []) == expected, name


def test_every_service_keeps_little_log(compose):
    for name, service in compose["services"].items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert logging["options"]["max-size"] and logging["options"]["max-file"], name


class HealthServer(http.server.BaseHTTPRequestHandler):
    """Answers /health/ as a site would: ``status`` for an allowed Host, 400 for any other."""

    status = 200
    allowed_host = ""
    seen: list[str] = []

    def do_GET(self):
        self.seen.append(f"{self.headers['Host']} {self.path}")
        allowed = self.headers["Host"] == self.allowed_host and self.path == "/health/"
        self.send_response(self.status if allowed else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


def run_site_healthcheck(service: dict, allowed_hosts: str, status: int) -> tuple[int, list[str]]:
    """Run a site's healthcheck command against a stand-in for its gunicorn; (exit status, the
    requests it made)."""
    kind, *command = service["healthcheck"]["test"]
    assert kind == "CMD" and command[:2] == ["python", "-c"]
    port = service["command"][service["command"].index("--bind") + 1].rsplit(":", 1)[1]
    url = f"http://127.0.0.1:{port}/health/"
    assert url in command[2]  # the port gunicorn binds in the container
    handler = type("Handler", (HealthServer,), {"status": status, "seen": []})
    handler.allowed_host = allowed_hosts.split(",")[0]
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        code = command[2].replace(url, f"http://127.0.0.1:{server.server_address[1]}/health/")
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={"PATH": os.environ["PATH"], "ALLOWED_HOSTS": allowed_hosts},
            capture_output=True,
            timeout=60,
        )
        server.shutdown()
    return result.returncode, handler.seen


@pytest.mark.parametrize("site", ["public", "backoffice"])
def test_each_site_is_healthy_only_while_its_health_endpoint_says_so(compose, site):
    service = compose["services"][site]
    assert service["healthcheck"]["retries"] >= 1
    configured = service["environment"]["ALLOWED_HOSTS"]
    assert run_site_healthcheck(service, configured, 200) == (
        0,
        [f"{configured.split(',')[0]} /health/"],
    )
    assert run_site_healthcheck(service, configured, 503)[0] != 0
    # With the operator's own host names the request still names one the site accepts.
    assert run_site_healthcheck(service, "tips.example.org,abc.onion", 200)[0] == 0
