"""infra/, checked statically (no Docker engine runs here): the compose file against the
compose specification, the Dockerfiles by hadolint, and what they start against the code."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml

from mastery.cli import app

INFRA = Path(__file__).resolve().parents[2] / "infra"
BIN = Path(sys.executable).parent
DOCKERFILES = sorted(INFRA.glob("*.Dockerfile"))
COMPOSE = yaml.safe_load((INFRA / "compose.yaml").read_text())


def test_compose_file_follows_the_compose_specification():
    result = subprocess.run([BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", INFRA / "compose.yaml"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint_and_run_pinned_as_a_non_root_user(dockerfile):
    result = subprocess.run([BIN / "hadolint", dockerfile], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    text = dockerfile.read_text()
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1].isdigit() and users[-1] != "0"
    assert "-c constraints.txt" in text  # the pinned stack, as on this machine


def test_every_mastery_command_in_compose_exists_with_its_options():
    cli = typer.main.get_command(app)
    commands = [service["command"] for service in COMPOSE["services"].values() if "command" in service]
    mastery = [shlex.split(c) for c in commands if c.startswith("mastery ")]
    assert len(mastery) >= 3  # the two workers and the model server
    for argv in mastery:
        context = cli.make_context("mastery", argv[1:], resilient_parsing=False)
        name, command, rest = cli.resolve_command(context, argv[1:])
        with command.make_context(name, rest, parent=context):  # fails on an unknown option or value
            pass


def test_what_others_wait_for_says_when_it_is_ready():
    services = COMPOSE["services"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has no healthcheck"
    gpu = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"] and gpu["driver"] == "nvidia"


def test_a_misspelt_option_would_be_caught():
    cli = typer.main.get_command(app)
    context = cli.make_context("mastery", ["worker", "--pol", "cpu"], resilient_parsing=False)
    name, command, rest = cli.resolve_command(context, ["worker", "--pol", "cpu"])
    with pytest.raises(Exception, match="No such option: --pol"):
        command.make_context(name, rest, parent=context)
