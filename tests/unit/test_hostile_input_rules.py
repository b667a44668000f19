"""Hostile input rules: masking, submodule URLs, child environments, the web's secrets."""

from builder.buildlog import BuildLog
from builder.masking import Masker, installation_secrets, without_credentials
from builder.submodules import refusal, resolve


class StreamRecorder:
    """Stands in for Redis: keeps what would have been streamed."""

    def __init__(self):
        self.streamed = []

    def xadd(self, _key, fields, **_options):
        self.streamed.append(fields["line"])

    def pipeline(self, transaction=True):  # lines written together: one round trip
        return self

    def execute(self):
        return []


def test_credentials_and_webhook_paths_are_masked_in_any_text():
    assert without_credentials("could not fetch from https://bob:hunter22@git.example.com/a.git"
                               ) == "could not fetch from https://***@git.example.com/a.git"
    assert without_credentials("https://hooks.slack.com/services/T00/B00/XXXXSECRET failed") == \
        "https://hooks.slack.com/services/*** failed"
    assert without_credentials("git@github.com:acme/web.git") == "git@github.com:acme/web.git"


def test_a_secret_split_across_chunks_is_masked_before_it_is_streamed():
    redis = StreamRecorder()
    log = BuildLog(redis, "b1", Masker(installation_secrets({"HOOK": "s3cret-value-1"},
                                                            ["HOOK"])))
    log.feed("token s3cret-")
    assert redis.streamed == []  # an incomplete line waits for its end
    log.feed("value-1 done\nnext")
    log.add_secret("build-secret")
    log.add_secret("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----\n")
    log.write("build-secret used\nkey MIIEvQIBADANBgkqhkiG9w0B")
    assert redis.streamed == ["token ***[masked, 14 chars] done", "next",
                              "***[masked, 12 chars] used", "key MIIE***[masked, 24 chars]"]
    assert log.text() == "\n".join(redis.streamed) + "\n"


def test_short_installation_values_are_not_masked_and_database_passwords_are():
    values = installation_secrets({"A": "short", "LOCKMASTER_DATABASE_URL":
                                   "postgresql://lm:long-password@db/lm"}, ["A"])
    assert values == {"long-password"}


def test_submodule_urls_resolve_against_the_clone_url_and_stay_on_its_host():
    base = "https://git.example.com/acme/web.git"
    assert resolve("../lib.git", base) == "https://git.example.com/acme/lib.git"
    assert refusal("lib", "../lib.git", base, ()) is None
    assert refusal("lib", "https://mirror.example.com/lib.git", base, ("mirror.example.com",)) \
        is None
    assert "at https://***@evil.example.com/x is refused" in refusal(
        "lib", "https://u:p@evil.example.com/x", base, ())
    assert "local paths and file:// URLs" in refusal("lib", "file:///etc", base, ())
    assert refusal("lib", "../lib", "/srv/git/web", ()) is None


def test_a_notification_error_never_shows_the_hooks_secret_path():
    from notify.jobs import masked_error

    url = "https://hooks.slack.com/services/T0/B0/XYZ123456"
    error = ("ConnectionError: HTTPSConnectionPool(host='hooks.slack.com', port=443): Max "
             "retries exceeded with url: /services/T0/B0/XYZ123456 (Caused by ...)")
    assert "XYZ123456" not in masked_error(error, url)


def test_the_web_names_its_secret_variables_that_are_not_set(tmp_path):
    from config import load_settings, missing_web_secrets

    config = tmp_path / "lockmaster.yml"
    config.write_text("registry: {events_secret_env: EVENTS}\nrepositories:\n"
                      "  - {name: acme/web, provider: github, secret_env: ACME_WEB}\n")
    settings = load_settings({"LOCKMASTER_CONFIG": str(config),
                              "LOCKMASTER_DATA_DIR": str(tmp_path)})
    assert missing_web_secrets(settings, {"EVENTS": "x"}) == [
        "ACME_WEB (secret_env of acme/web: its webhooks will be refused)"]


def test_git_and_the_gates_tools_never_see_the_workers_secrets(monkeypatch, tmp_path):
    from builder.checks.tools import run_tool
    from builder.gitcmd import run_git
    from builder.source import git_env

    monkeypatch.setenv("LOCKMASTER_SECRET_KEY", "canary-session-key")
    monkeypatch.setenv("ACME_WEB_SECRET", "canary-webhook-secret")
    by_git = run_git(tmp_path, "-c", "alias.showenv=!env", "showenv",
                     env=git_env("https://git.example.com/acme/web.git"))
    by_tool = run_tool(["env"], 10).stdout
    for shown in (by_git, by_tool):
        assert "PATH=" in shown and "canary" not in shown


def test_a_refused_clone_url_is_quoted_without_its_credentials():
    import pytest

    from webhooks.events import MalformedPayload
    from webhooks.rules import clone_source

    with pytest.raises(MalformedPayload) as refused:
        clone_source(None, "https://bob:hunter22@evil.example.com/x.git", ("git.example.com",))
    assert "hunter22" not in str(refused.value)
    assert "https://***@evil.example.com/x.git" in str(refused.value)


def test_patterns_run_in_linear_time_and_name_what_the_engine_lacks():
    import pytest

    from builder.checks import patterns

    assert not patterns.search(r"^(a+)+$", "a" * 100_000 + "!")
    assert patterns.search(r"^ready$", "starting\nready\n")
    assert patterns.fullmatch(r"v[0-9]+", "v12") and not patterns.fullmatch(r"v[0-9]", "v12")
    with pytest.raises(patterns.PatternError, match=r"uses a backreference"):
        patterns.compiled(r"(a)\1")


def test_a_workers_app_neither_reads_nor_makes_the_session_key(tmp_path, monkeypatch):
    from app import create_app
    from config import load_settings

    monkeypatch.delenv("LOCKMASTER_SECRET_KEY", raising=False)
    config = tmp_path / "lockmaster.yml"
    config.write_text("repositories: []\n")
    settings = load_settings({"LOCKMASTER_CONFIG": str(config),
                              "LOCKMASTER_DATA_DIR": str(tmp_path / "var")})
    create_app(settings, serves_web=False)
    assert not (tmp_path / "var" / "secret-key").exists()
    create_app(settings)
    assert (tmp_path / "var" / "secret-key").exists()
