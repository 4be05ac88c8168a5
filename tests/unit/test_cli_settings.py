"""The CLI builds each stage's settings once: options given win, the environment comes next,
the settings class holds the defaults; a bad setting is one clear error, not a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import nlp_api
import proxy
from nlp_api import ApiSettings
from nlpfeat._cli import app
from nlpfeat._settings import api_settings, proxy_config

CLIENT = '[[clients]]\nname = "job"\nkey = "job-key-0123456789"\nrate = 10\nburst = 5\n'


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What `nlpfeat api` / `nlpfeat proxy` would have served; nothing is started."""
    seen: list[Any] = []
    monkeypatch.setattr(nlp_api, "run", seen.append)
    monkeypatch.setattr(proxy, "run", seen.append)
    return seen


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proxy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_api_options_not_given_are_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ApiSettings.model_fields:
        monkeypatch.delenv(f"NLPFEAT_API_{name.upper()}", raising=False)
    assert api_settings(port=None, max_docs=None, analyzers=None) == ApiSettings()


def test_an_env_var_reaches_the_api_settings_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, started: list[Any]
) -> None:
    monkeypatch.setenv("NLPFEAT_API_MAX_DOCS", "123")
    monkeypatch.setenv("NLPFEAT_API_PORT", "9123")
    result = CliRunner().invoke(app, ["api", "--port", "9000", "--analyzers", "mecab, kiwi"])
    assert result.exit_code == 0, result.output
    (settings,) = started
    assert isinstance(settings, ApiSettings)
    assert settings.max_docs == 123, "NLPFEAT_API_MAX_DOCS must reach the settings"
    assert settings.port == 9000, "a flag given wins over the environment"
    assert settings.analyzers == ("mecab", "kiwi")
    assert settings.workers == ApiSettings.model_fields["workers"].default


def test_the_upstream_token_comes_from_its_flag_or_variable(
    monkeypatch: pytest.MonkeyPatch, started: list[Any]
) -> None:
    monkeypatch.setenv("NLPFEAT_UPSTREAM_TOKEN", "from-the-environment")
    assert CliRunner().invoke(app, ["api"]).exit_code == 0
    assert CliRunner().invoke(app, ["api", "--upstream-token", "from-the-flag"]).exit_code == 0
    assert [s.upstream_token for s in started] == ["from-the-environment", "from-the-flag"]


def test_a_bad_api_setting_from_the_environment_is_one_error(
    monkeypatch: pytest.MonkeyPatch, started: list[Any]
) -> None:
    monkeypatch.setenv("NLPFEAT_API_MAX_DOCS", "0")
    result = CliRunner().invoke(app, ["api"])
    assert result.exit_code == 1 and started == []
    assert "max_docs" in result.output and "Traceback" not in result.output


def test_proxy_flags_not_given_are_the_proxy_settings_defaults(started: list[Any]) -> None:
    assert CliRunner().invoke(app, ["proxy"]).exit_code == 0
    assert CliRunner().invoke(app, ["proxy", "--rate", "7", "--port", "9001"]).exit_code == 0
    default, changed = started
    assert default == proxy.ProxySettings().to_config()
    assert changed == proxy.ProxySettings(rate=7, port=9001).to_config()


def test_proxy_server_flags_apply_to_a_config_file(tmp_path: Path) -> None:
    path = toml(tmp_path, '[upstream]\nurls = ["http://127.0.0.1:8001"]\n' + CLIENT)
    config = proxy_config(path, host=None, port=9002, dry_run=True, upstream=None)
    assert (config.server.host, config.server.port, config.server.dry_run) == (
        "127.0.0.1",
        9002,
        True,
    )


def test_shorthand_flags_with_a_config_file_are_refused_not_ignored(tmp_path: Path) -> None:
    path = toml(tmp_path, '[upstream]\nurls = ["http://127.0.0.1:8001"]\n' + CLIENT)
    with pytest.raises(proxy.SettingsError, match=r"--rate, --redis-url: these describe"):
        proxy_config(path, rate=5.0, redis_url="redis://127.0.0.1:6379/0", port=None)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["proxy", "--rate", "0"], "rate: Input should be greater than 0"),
        (["proxy", "--upstream", "localhost:8001"], "upstream: must be a base URL"),
        (["proxy", "--config", "{toml}", "--port", "70000"], "server.port: Input should be"),
        (["proxy", "--config", "{toml}"], "clients.0.burst: Input should be greater than"),
    ],
)
def test_a_proxy_config_error_is_reported_once_with_a_clear_message(
    tmp_path: Path, started: list[Any], argv: list[str], line: str
) -> None:
    client = CLIENT.replace("burst = 5", "burst = 0") if argv[-1] == "{toml}" else CLIENT
    path = toml(tmp_path, '[upstream]\nurls = ["http://127.0.0.1:8001"]\n' + client)
    argv = [str(path) if a == "{toml}" else a for a in argv]
    result = CliRunner().invoke(app, argv, terminal_width=200)
    assert result.exit_code == 1 and started == []
    output = result.output
    assert output.count("invalid proxy configuration") == 1, output
    assert output.count(line) == 1, output
    assert output.startswith("error:") and "Traceback" not in output
