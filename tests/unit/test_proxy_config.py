"""proxy.toml: the shipped example loads; mistakes are refused with the field and the fix."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from proxy import ProxySettings, load_config
from proxy._errors import SettingsError

ROOT = Path(__file__).resolve().parents[2]
CLIENT = 'name = "{name}"\nkey = "{key}"\nrate = 10\nburst = 5\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proxy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def minimal(*clients: str, extra: str = "") -> str:
    body = '[upstream]\nurls = ["http://127.0.0.1:8001"]\n' + extra
    return body + "".join(f"\n[[clients]]\n{c}" for c in clients)


def test_the_readme_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLPFEAT_UPSTREAM_TOKEN", "upstream-secret")
    monkeypatch.setenv("NLPFEAT_WEB_KEY", "web-key-0123456789")
    monkeypatch.setenv("NLPFEAT_SPARK_KEY", "spark-key-0123456789")
    config = load_config(ROOT / "proxy.example.toml")
    assert [(c.name, c.klass, c.enabled) for c in config.clients] == [
        ("web", "interactive", True),
        ("spark-nightly", "batch", True),
        ("retired-job", "batch", False),
    ]
    assert config.capacity.reserved_slots == 8
    assert config.upstream.resolved_token == "upstream-secret"
    web = config.clients[0]
    assert web.key_digest() == hashlib.sha256(b"web-key-0123456789").hexdigest()


def test_a_missing_key_variable_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    client = 'name = "job"\nkey_env = "NO_SUCH_KEY_VAR"\nrate = 1\nburst = 1\n'
    with pytest.raises(SettingsError, match="NO_SUCH_KEY_VAR is not set"):
        load_config(write(tmp_path, minimal(client)))


@pytest.mark.parametrize(
    ("clients", "extra", "message"),
    [
        ((CLIENT.format(name="a", key="x" * 16) + "colour = 1\n",), "", "clients.0.colour"),
        ((CLIENT.format(name="a", key="short"),), "", "clients.0.key"),
        (
            (CLIENT.format(name="a", key="x" * 16), CLIENT.format(name="a", key="y" * 16)),
            "",
            "share a name",
        ),
        (
            (CLIENT.format(name="a", key="x" * 16), CLIENT.format(name="b", key="x" * 16)),
            "",
            "share an API key",
        ),
        (
            (CLIENT.format(name="a", key="x" * 16).replace("rate = 10", "rate = 0"),),
            "",
            "clients.0.rate",
        ),
        ((CLIENT.format(name="a", key="x" * 16),), '[redis]\nurl = "http://x"\n', "redis.url"),
        (
            (CLIENT.format(name="a", key="x" * 16) + 'class = "bulk"\n',),
            "",
            "clients.0.class: must be 'interactive' or 'batch', got 'bulk'",
        ),
        (
            (CLIENT.format(name="a", key="x" * 16),),
            "[capacity]\ninteractive_reserved = 1.5\n",
            "capacity",
        ),
        ((), "", "clients"),
    ],
)
def test_bad_configs_say_which_field(
    tmp_path: Path, clients: tuple[str, ...], extra: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as exc:
        load_config(write(tmp_path, minimal(*clients, extra=extra)))
    assert "invalid proxy configuration" in str(exc.value)


def test_not_toml_and_no_file_are_explained(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_config(write(tmp_path, "[upstream\n"))
    with pytest.raises(SettingsError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_keyless_mode_cannot_be_switched_on_from_a_file(tmp_path: Path) -> None:
    text = "auth = false\n" + minimal(CLIENT.format(name="a", key="x" * 16))
    assert load_config(write(tmp_path, text)).auth is True


def test_the_flag_shorthand_is_one_keyless_client() -> None:
    config = ProxySettings(upstream="http://127.0.0.1:8001", rate=5, burst=2).to_config()
    assert config.auth is False
    (only,) = config.clients
    assert (only.name, only.rate, only.burst, only.max_wait) == ("anonymous", 5, 2, 0.0)


def test_secrets_are_read_once_when_the_config_loads(tmp_path: Path) -> None:
    client = 'name = "job"\nkey_env = "JOB_KEY"\nrate = 1\nburst = 1\n'
    path = write(tmp_path, minimal(client, extra='token_env = "TOKEN"\n'))
    environ = {"JOB_KEY": "job-key-0123456789", "TOKEN": "upstream-secret"}
    config = load_config(path, environ=environ)
    environ.clear()  # later changes to the environment change nothing
    assert config.upstream.resolved_token == "upstream-secret"
    assert config.clients[0].key_digest() == hashlib.sha256(b"job-key-0123456789").hexdigest()


def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    text = minimal(CLIENT.format(name="a", key="k" * 16), extra='token = "upstream-secret"\n')
    config = load_config(write(tmp_path, text))
    assert "upstream-secret" not in repr(config) and "k" * 16 not in repr(config)


def test_server_overrides_are_validated_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, minimal(CLIENT.format(name="a", key="x" * 16)))
    assert load_config(path, server={"port": 9000}).server.port == 9000
    with pytest.raises(SettingsError) as exc:
        load_config(path, server={"port": 70000})
    assert str(exc.value).splitlines() == [
        f"{path}: invalid proxy configuration",
        "  server.port: Input should be less than or equal to 65535",
    ]
