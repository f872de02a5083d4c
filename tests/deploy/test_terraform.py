"""deploy/terraform: parsed with python-hcl2 (`terraform validate` needs the providers,
which cannot be fetched offline) and checked for what must never regress:
encryption, backups, a read replica, secrets only from sensitive variables."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import hcl2
import pytest

from tests.support.deploy import DEPLOY

pytestmark = pytest.mark.files

TERRAFORM = DEPLOY / "terraform"
SECRET_VARIABLES = {"db_password", "redis_auth_token"}
APP_SETTINGS = {
    "companion_database_url": "aws_rds_cluster.main.endpoint",
    "companion_read_database_url": "aws_rds_cluster.main.reader_endpoint",
    "companion_redis_url": "aws_elasticache_replication_group.main.primary_endpoint_address",
}


def unquoted(value: Any) -> Any:
    """python-hcl2 keeps a string's quotes and marks blocks; drop both."""
    if isinstance(value, dict):
        return {unquoted(k): unquoted(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [unquoted(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def parsed_files() -> tuple[dict[str, Any], ...]:
    parsed = []
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as file:
            parsed.append(unquoted(hcl2.load(file)))
    return tuple(parsed)


def blocks(kind: str) -> dict[str, Any]:
    """Every `kind` block of every .tf file, by its labels joined with a dot."""
    found: dict[str, Any] = {}
    for parsed in parsed_files():
        for block in parsed.get(kind, []):
            found.update(flatten(block, kind in {"resource", "data"}))
    return found


def flatten(block: dict[str, Any], two_labels: bool) -> dict[str, Any]:
    if not two_labels:
        return block
    return {f"{t}.{n}": body for t, named in block.items() for n, body in named.items()}


def test_every_file_parses_and_every_module_is_pinned():
    modules = blocks("module")
    assert set(modules) == {"vpc", "eks"}
    for module in modules.values():
        assert module["source"].startswith("terraform-aws-modules/")
        assert re.fullmatch(r"\d+\.\d+\.\d+", module["version"])
    (terraform,) = [block for parsed in parsed_files() for block in parsed.get("terraform", [])]
    (providers,) = terraform["required_providers"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", providers["aws"]["version"])


def test_aurora_is_encrypted_backed_up_and_has_a_reader():
    resources = blocks("resource")
    cluster = resources["aws_rds_cluster.main"]
    assert cluster["engine"] == "aurora-postgresql"
    assert cluster["storage_encrypted"] is True
    assert cluster["kms_key_id"] == "${aws_kms_key.database.arn}"
    assert cluster["deletion_protection"] is True
    retention = cluster["backup_retention_period"]
    variable = blocks("variable")[retention.removeprefix("${var.").removesuffix("}")]
    assert variable["default"] >= 7
    instances = [
        body
        for name, body in resources.items()
        if name.startswith("aws_rds_cluster_instance.")
        and body["cluster_identifier"] == "${aws_rds_cluster.main.id}"
    ]
    assert len(instances) >= 2
    assert cluster["master_password"] == "${var.db_password}"


def test_redis_is_encrypted_in_transit_and_at_rest_behind_a_token():
    redis = blocks("resource")["aws_elasticache_replication_group.main"]
    assert redis["at_rest_encryption_enabled"] is True
    assert redis["transit_encryption_enabled"] is True
    assert redis["auth_token"] == "${var.redis_auth_token}"
    assert redis["automatic_failover_enabled"] is True


def test_the_databases_admit_only_the_cluster_nodes():
    rules = [
        body
        for name, body in blocks("resource").items()
        if name.startswith("aws_vpc_security_group_ingress_rule.")
    ]
    assert {r["from_port"] for r in rules} == {5432, 6379}
    for rule in rules:
        assert rule["referenced_security_group_id"] == "${module.eks.node_security_group_id}"
        assert "cidr_ipv4" not in rule


def test_secrets_are_sensitive_variables_without_defaults():
    variables = blocks("variable")
    for name in SECRET_VARIABLES:
        assert variables[name]["sensitive"] is True
        assert "default" not in variables[name]
    hard_coded = re.compile(
        r'^\s*(master_password|auth_token|password|secret\w*)\s*=\s*"(?!\$\{var\.)', re.MULTILINE
    )
    for path in TERRAFORM.glob("*.tf"):
        assert not hard_coded.search(path.read_text()), path.name


def test_the_apps_urls_are_sensitive_outputs_built_from_what_was_created():
    outputs = blocks("output")
    for name, endpoint in APP_SETTINGS.items():
        assert outputs[name]["sensitive"] is True
        assert "${" + endpoint + "}" in outputs[name]["value"]
    assert outputs["companion_redis_url"]["value"].startswith("rediss://")
    for name in ("companion_database_url", "companion_read_database_url"):
        assert outputs[name]["value"].endswith("?sslmode=require")
        assert "urlencode(var.db_password)" in outputs[name]["value"]
