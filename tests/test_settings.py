"""Settings: the documented defaults, validation when made, and no way to change one."""

from __future__ import annotations

import re

import pytest

from linkfilter.settings import (
    BOUNDS,
    DEFAULT_FORMAT,
    DEFAULT_WORKERS,
    Settings,
    SettingsError,
    check_template,
    compile_excludes,
)


def test_defaults_are_the_documented_ones():
    settings = Settings()
    assert settings.workers == DEFAULT_WORKERS == 8
    assert settings.per_host == 4 and settings.max_pending == 10_000
    assert settings.format is None and settings.template == DEFAULT_FORMAT
    assert settings.color == "auto" and settings.progress is None
    assert not settings.no_echo and not settings.json


@pytest.mark.parametrize("changes, message", [
    ({"workers": 0}, "--workers must be from 1 to 512"),
    ({"workers": 513}, "--workers must be from 1 to 512"),
    ({"max_pending": 0}, "--max-pending must be at least 1"),
    ({"per_host": 0}, "--per-host must be at least 1"),
    ({"timeout": 0}, "--timeout must be more than 0 and at most 1000000000 seconds"),
    ({"timeout": float("inf")}, "--timeout must be more than 0 and at most 1000000000 seconds"),
    ({"timeout": float("nan")}, "--timeout must be more than 0 and at most 1000000000 seconds"),
    ({"max_bytes": 0}, "--max-bytes must be at least 1"),
    ({"max_redirects": -1}, "--max-redirects must be 0 or more"),
    ({"cache_ttl": -1}, "--cache-ttl must be from 0 to 1000000000 seconds"),
    ({"cache_ttl": 1e10}, "--cache-ttl must be from 0 to 1000000000 seconds"),
    ({"json": True, "format": "{url}"}, "--json cannot be used with --format"),
    ({"max_title": -1}, "--max-title must be 0 or more"),
    ({"user_agent": "a\r\nX-Evil: 1"}, "header values may not hold control characters"),
    ({"color": "sometimes"}, "--color must be one of auto, always, never"),
    ({"format": "{nope}"}, "bad --format template: unknown field {nope}"),
    ({"fallback": "{title.upper}"}, "bad --fallback template: {title.upper}"),
])
def test_a_bad_value_is_refused_when_made_and_when_replaced(changes, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings(**changes)
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings()._replace(**changes)


@pytest.mark.parametrize("changes, option, reason", [
    ({"workers": 0}, "--workers", "must be from 1 to 512"),
    ({"timeout": 0}, "--timeout", "must be more than 0 and at most 1000000000 seconds"),
    ({"color": "sometimes"}, "--color", "must be one of auto, always, never"),
    ({"fallback": "{nope}"}, "--fallback", "unknown field {nope}"),
    ({"format": "{0}"}, "--format", "fields must be named, e.g. {title}"),
])
def test_an_error_names_its_option_and_reason_apart(changes, option, reason):
    with pytest.raises(SettingsError) as info:
        Settings(**changes)
    assert info.value.option == option
    assert info.value.reason.startswith(reason)
    assert option in str(info.value) and str(info.value).endswith(info.value.reason)


@pytest.mark.parametrize("name", list(BOUNDS))
def test_the_command_line_takes_exactly_the_numbers_settings_takes(name):
    import click

    from linkfilter.cli import _bounded

    bound = BOUNDS[name]
    step = 1 if bound.kind is int else 0.001
    edges = [bound.low - step, bound.low, bound.low + step]
    if bound.high is not None:
        edges += [bound.high - step, bound.high, bound.high + step]
    for value in edges:
        try:
            Settings(**{name: value})
            settings_took = True
        except SettingsError:
            settings_took = False
        try:
            _bounded(name).convert(str(value), None, None)
            cli_took = True
        except click.BadParameter:
            cli_took = False
        assert cli_took == settings_took, (name, value)


def test_settings_cannot_be_changed():
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.workers = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.extra = 1  # type: ignore[attr-defined]
    assert settings._replace(workers=3).workers == 3 and settings.workers == DEFAULT_WORKERS


def test_json_output_never_echoes():
    assert Settings(json=True).no_echo
    assert Settings()._replace(json=True).no_echo
    assert Settings(json=True) == Settings(json=True, no_echo=True)


def test_line_numbers_are_counted_only_when_shown():
    assert not Settings().needs_line_numbers
    assert Settings(format="{line}: {title}").needs_line_numbers
    assert Settings(fallback="{line}").needs_line_numbers
    assert Settings(json=True).needs_line_numbers and Settings(ordered=True).needs_line_numbers


def test_excludes_match_the_url_as_found():
    settings = Settings(exclude=compile_excludes([r"\.png$", "^https://private"]))
    assert settings.excluded("http://a/b.png")
    assert settings.excluded("https://private.example/")
    assert not settings.excluded("http://a/b.png?x")
    with pytest.raises(SettingsError, match=r"bad --exclude regex '\('"):
        compile_excludes(["("])


@pytest.mark.parametrize("template", ["{0}", "{}", "{title[0]}", "{title:{width}}", "{title", "{title!z}"])
def test_templates_use_known_fields_by_name_only(template):
    with pytest.raises(SettingsError, match="bad --format template"):
        check_template(template)
