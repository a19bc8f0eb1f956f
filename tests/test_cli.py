"""The click command in process (``CliRunner``): what reaches Settings, and usage errors.

Runs of the real command, in a subprocess, are in ``test_e2e_<feature>.py``.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from linkfilter.cli import known_variables, main
from linkfilter.settings import MAX_SECONDS, Settings, SettingsError


def test_cli_runner_sees_echo_and_results():
    result = CliRunner().invoke(main, ["--dry-run"], input="a http://x.example b\n")
    assert result.exit_code == 0
    assert result.output == "a http://x.example b\nhttp://x.example\n"


def test_cli_runner_usage_error_is_one_line():
    result = CliRunner().invoke(main, ["-w", "0"], input="")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "linkfilter:" in result.output


def test_settings_refuse_what_the_command_line_refuses():
    for knobs in ({"timeout": float("inf")}, {"timeout": MAX_SECONDS * 10},
                  {"cache_ttl": float("inf")}):
        with pytest.raises(SettingsError):
            Settings(**knobs)


def test_every_documented_variable_is_known_and_read():
    known = known_variables(main)
    for name in ("LINKFILTER_WORKERS", "LINKFILTER_FORMAT", "LINKFILTER_JSON", "LINKFILTER_CACHE",
                 "LINKFILTER_NO_ECHO", "LINKFILTER_PROGRESS", "LINKFILTER_COLOR"):
        assert name in known
    assert "LINKFILTER_HELP" not in known and "LINKFILTER_VERSION" not in known
    env = dict.fromkeys(known, "")
    result = CliRunner().invoke(main, ["--dry-run"], input="x\n", env=env)
    assert "ignoring" not in result.output
