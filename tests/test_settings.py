"""Settings: sources and their priority, profiles, app sections and error messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tausestack import Settings, SettingsSection
from tausestack.errors import SettingsError, TauseStackError
from tausestack.settings import DEFAULT_DISCOVERY_MODULES, AppSettings, DiscoverySettings
from tests.conftest import Project


class UsersSettings(SettingsSection):
    page_size: int = 20
    tags: list[str] = []


class BillingSettings(SettingsSection, section="payments"):
    currency: str = "EUR"


class ApiKeySettings(SettingsSection, section="api"):
    key: str


def test_defaults_without_any_file(project: Project) -> None:
    settings = Settings()
    assert settings.profile == "dev"
    assert settings.installed_apps == []
    assert settings.app.title == "TauseStack"
    assert settings.config_dir == project.root.resolve()
    assert "controllers" in settings.discovery.modules


def test_each_source_wins_over_the_ones_below_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("application.yaml", "app:\n  title: from-base\n  version: base\n")
    project.write("application-dev.yaml", "app:\n  title: from-profile\n")
    project.write(".env", "TAUSESTACK_APP__TITLE=from-dotenv\n")
    monkeypatch.setenv("TAUSESTACK_APP__TITLE", "from-env")

    assert Settings(app={"title": "from-kwargs"}).app.title == "from-kwargs"
    assert Settings().app.title == "from-env"
    monkeypatch.delenv("TAUSESTACK_APP__TITLE")
    assert Settings().app.title == "from-dotenv"
    (project.root / ".env").unlink()
    assert Settings().app.title == "from-profile"
    (project.root / "application-dev.yaml").unlink()
    assert Settings().app.title == "from-base"
    (project.root / "application.yaml").unlink()
    assert Settings().app.title == "TauseStack"


def test_nested_values_merge_across_sources(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("application.yaml", "app:\n  title: Shop\n  version: '1.0'\n")
    monkeypatch.setenv("TAUSESTACK_APP__DEBUG", "true")
    settings = Settings()
    assert (settings.app.title, settings.app.version, settings.app.debug) == ("Shop", "1.0", True)


def test_profile_selects_its_yaml_file(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("application.yaml", "installed_apps: [a]\n")
    project.write("application-prod.yaml", "installed_apps: [b]\n")
    assert Settings().installed_apps == ["a"]
    assert Settings(profile="prod").installed_apps == ["b"]
    monkeypatch.setenv("TAUSESTACK_PROFILE", "prod")
    assert Settings().profile == "prod"
    assert Settings().installed_apps == ["b"]


def test_profile_from_dotenv_and_from_application_yaml(project: Project) -> None:
    project.write("application-staging.yaml", "")
    project.write("application-qa.yaml", "")
    project.write("application.yaml", "profile: staging\n")
    assert Settings().profile == "staging"
    project.write(".env", "TAUSESTACK_PROFILE=qa\n")
    assert Settings().profile == "qa"
    assert Settings(profile="dev").profile == "dev"


@pytest.mark.parametrize("profile", ["dev", "test", "prod"])
def test_built_in_profiles_need_no_file(project: Project, profile: str) -> None:
    assert Settings(profile=profile).profile == profile


def test_a_profile_with_a_file_is_known(project: Project) -> None:
    project.write("application-staging.yaml", "# the staging profile, no keys of its own yet\n")
    assert Settings(profile="staging").profile == "staging"


def test_an_unknown_profile_from_the_environment_is_refused_with_a_suggestion(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_PROFILE", "prdo")
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value)
    assert message.startswith(
        "Unknown profile 'prdo' (from environment variable TAUSESTACK_PROFILE): there is no "
        f"{project.root / 'application-prdo.yaml'}. Did you mean 'prod'?"
    )
    assert "built in: dev, prod, test" in message
    assert "create application-prdo.yaml (it may be empty)" in message


def test_an_unknown_profile_names_dotenv_keyword_and_application_yaml(project: Project) -> None:
    project.write("application-staging.yaml", "")
    project.write(".env", "TAUSESTACK_PROFILE=stagign\n")
    with pytest.raises(SettingsError, match=r"Did you mean 'staging'\?") as from_dotenv:
        Settings()
    assert f"(from {project.root / '.env'} (TAUSESTACK_PROFILE))" in str(from_dotenv.value)
    assert "with a file: staging" in str(from_dotenv.value)
    with pytest.raises(SettingsError, match=r"Unknown profile 'tset' \(from keyword argument\)"):
        Settings(profile="tset")
    (project.root / ".env").unlink()
    project.write("application.yaml", "profile: qa\n")
    with pytest.raises(SettingsError, match="from " + re.escape(str(project.root))):
        Settings()


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_profile_says_so_and_lists_the_known_ones(
    project: Project, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    project.write("application-staging.yaml", "")
    monkeypatch.setenv("TAUSESTACK_PROFILE", value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value)
    assert message.startswith(
        "The profile is empty (from environment variable TAUSESTACK_PROFILE): set it to a "
        "profile's name, or unset it for the default, dev."
    )
    assert "Known profiles: built in: dev, prod, test; with a file: staging." in message
    assert "application-.yaml" not in message


def test_config_dir_from_keyword_and_environment(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("conf/application.yaml", "app:\n  title: Configured\n")
    assert Settings(config_dir=project.root / "conf").app.title == "Configured"
    monkeypatch.setenv("TAUSESTACK_CONFIG_DIR", str(project.root / "conf"))
    assert Settings().app.title == "Configured"


def test_missing_config_dir_is_an_error(project: Project) -> None:
    with pytest.raises(SettingsError, match=r"config_dir '.*nowhere' is not a folder"):
        Settings(config_dir=project.root / "nowhere")


def test_source_of_names_where_a_value_came_from(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("application.yaml", "app:\n  title: Shop\n")
    monkeypatch.setenv("TAUSESTACK_APP__VERSION", "9")
    settings = Settings()
    assert settings.source_of("app", "title") == f"{project.root / 'application.yaml'}:2"
    assert settings.source_of("app", "version") == "environment variable TAUSESTACK_APP__VERSION"
    assert settings.source_of("app", "debug") == "defaults"


# -- sections -----------------------------------------------------------------------------------


def test_section_names_default_to_the_class_name() -> None:
    assert UsersSettings.section_name == "users"
    assert BillingSettings.section_name == "payments"


def test_sections_read_from_every_source(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("application.yaml", "users:\n  page_size: 10\npayments:\n  currency: USD\n")
    monkeypatch.setenv("TAUSESTACK_USERS__TAGS", '["a", "b"]')
    settings = Settings().with_sections([UsersSettings, BillingSettings])
    assert settings.section(UsersSettings) == UsersSettings(page_size=10, tags=["a", "b"])
    assert settings.section(BillingSettings).currency == "USD"
    monkeypatch.setenv("TAUSESTACK_USERS__PAGE_SIZE", "50")
    reloaded = Settings().with_sections([UsersSettings, BillingSettings])
    assert reloaded.section(UsersSettings).page_size == 50


def test_keyword_arguments_survive_adding_sections(project: Project) -> None:
    settings = Settings(installed_apps=["x"], users={"page_size": 3})
    extended = settings.with_sections([UsersSettings])
    assert extended.installed_apps == ["x"]
    assert extended.section(UsersSettings).page_size == 3
    assert isinstance(extended, Settings)


def test_section_defaults_when_absent(project: Project) -> None:
    settings = Settings().with_sections([UsersSettings])
    assert settings.section(UsersSettings) == UsersSettings()
    assert settings.sections == [UsersSettings()]


def test_asking_for_a_section_that_was_not_loaded(project: Project) -> None:
    with pytest.raises(SettingsError, match="no section .*UsersSettings.*installed_apps"):
        Settings().section(UsersSettings)


def test_required_section_missing(project: Project) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings().with_sections([ApiKeySettings])
    assert "api: required, expected ApiKeySettings; no source sets it" in str(caught.value)
    assert "TAUSESTACK_API" in str(caught.value)


def test_required_field_of_a_present_section_missing(project: Project) -> None:
    project.write("application.yaml", "api: {}\n")
    with pytest.raises(SettingsError, match=r"api\.key: required, expected str"):
        Settings().with_sections([ApiKeySettings])


def test_section_key_clashing_with_core_settings() -> None:
    class AppSection(SettingsSection, section="app"):
        x: int = 1

    with pytest.raises(SettingsError, match="uses the key 'app', which TauseStack's own settings"):
        Settings().with_sections([AppSection])


def test_two_sections_with_one_key() -> None:
    class Other(SettingsSection, section="users"):
        x: int = 1

    with pytest.raises(SettingsError, match="Two settings sections use the key 'users'"):
        Settings().with_sections([UsersSettings, Other])


def test_section_key_must_be_an_identifier() -> None:
    with pytest.raises(SettingsError, match="'my-section', which is not a valid identifier"):

        class Bad(SettingsSection, section="my-section"):
            pass


# -- errors -------------------------------------------------------------------------------------


def test_invalid_yaml_value_names_key_file_line_and_type(project: Project) -> None:
    project.write("application.yaml", "users:\n  page_size: 10\n")
    project.write("application-prod.yaml", "app:\n  debug: false\nusers:\n  page_size: lots\n")
    with pytest.raises(SettingsError) as caught:
        Settings(profile="prod").with_sections([UsersSettings])
    message = str(caught.value)
    assert "Invalid settings (profile 'prod'" in message
    assert "users.page_size: Input should be a valid integer" in message
    assert f"got 'lots' from {project.root / 'application-prod.yaml'}:4" in message
    assert "expected int." in message
    assert caught.value.problems
    assert len(caught.value.problems) == 1


def test_invalid_environment_value_names_the_variable(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_APP__DEBUG", "perhaps")
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert "app.debug" in str(caught.value)
    assert "environment variable TAUSESTACK_APP__DEBUG" in str(caught.value)
    assert "expected bool" in str(caught.value)


def test_invalid_dotenv_value_names_the_file_and_variable(project: Project) -> None:
    project.write(".env", "TAUSESTACK_APP__DEBUG=perhaps\n")
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert f"{project.root / '.env'} (TAUSESTACK_APP__DEBUG)" in str(caught.value)


def test_invalid_keyword_argument(project: Project) -> None:
    with pytest.raises(SettingsError, match=r"installed_apps.*from keyword argument; expected"):
        Settings(installed_apps="apps.users")


def test_every_invalid_key_is_listed(project: Project) -> None:
    project.write("application.yaml", "app:\n  debug: maybe\n  docs_url: 3\n")
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert len(caught.value.problems) == 2
    assert {problem.split(":")[0] for problem in caught.value.problems} == {
        "app.debug",
        "app.docs_url",
    }


def test_unknown_key_suggests_the_known_one(project: Project) -> None:
    project.write("application.yaml", "instaled_apps: [apps.users]\n")
    with pytest.raises(SettingsError) as caught:
        Settings().with_sections([])
    message = str(caught.value)
    assert f"instaled_apps: unknown setting (from {project.root / 'application.yaml'}:1)" in message
    assert "Did you mean 'installed_apps'?" in message


def test_unknown_key_without_near_match_mentions_installed_apps(project: Project) -> None:
    project.write("application.yaml", "billing:\n  currency: EUR\n")
    with pytest.raises(SettingsError, match="add that app to installed_apps"):
        Settings().with_sections([])


def test_unknown_key_inside_a_section(project: Project) -> None:
    project.write("application.yaml", "users:\n  pagesize: 3\n")
    with pytest.raises(SettingsError, match=r"users\.pagesize: unknown setting .*'page_size'"):
        Settings().with_sections([UsersSettings])


def test_malformed_yaml_names_file_line_and_column(project: Project) -> None:
    project.write("application.yaml", "app:\n  title: [unclosed\n")
    with pytest.raises(SettingsError, match=r"application\.yaml:3:1: .*Fix the YAML syntax"):
        Settings()


def test_yaml_must_be_a_mapping(project: Project) -> None:
    project.write("application.yaml", "- a\n- b\n")
    with pytest.raises(SettingsError, match="must hold a mapping .* not a list"):
        Settings()


def test_environment_lists_must_be_json(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAUSESTACK_INSTALLED_APPS", "apps.users")
    with pytest.raises(
        SettingsError, match="cannot parse TAUSESTACK_INSTALLED_APPS .*must be JSON"
    ):
        Settings()
    monkeypatch.delenv("TAUSESTACK_INSTALLED_APPS")
    project.write(".env", "TAUSESTACK_INSTALLED_APPS=apps.users\n")
    with pytest.raises(SettingsError, match=r"cannot parse TAUSESTACK_INSTALLED_APPS in .*\.env"):
        Settings()
    (project.root / ".env").unlink()
    monkeypatch.setenv("TAUSESTACK_INSTALLED_APPS", '["apps.users"]')
    assert Settings().installed_apps == ["apps.users"]


def test_unprefixed_dotenv_variables_are_ignored(project: Project) -> None:
    project.write(".env", "DATABASE_PASSWORD=secret\nTAUSESTACK_APP__TITLE=Dotenv\n")
    assert Settings().with_sections([]).app.title == "Dotenv"


def test_unknown_prefixed_variables_are_rejected(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_INSTALED_APPS", '["apps.users"]')
    with pytest.raises(SettingsError) as caught:
        Settings().with_sections([])
    assert "TAUSESTACK_INSTALED_APPS: unknown setting (from environment variable)." in str(
        caught.value
    )
    assert "Did you mean 'TAUSESTACK_INSTALLED_APPS'?" in str(caught.value)
    monkeypatch.delenv("TAUSESTACK_INSTALED_APPS")
    project.write(".env", "TAUSESTACK_APPP__TITLE=x\n")
    with pytest.raises(
        SettingsError, match=r"TAUSESTACK_APPP__TITLE: unknown setting \(from .*\.env\)"
    ):
        Settings().with_sections([])


def test_section_variables_are_known_once_the_section_is(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_USERS__PAGE_SIZE", "7")
    assert Settings().with_sections([UsersSettings]).section(UsersSettings).page_size == 7
    with pytest.raises(SettingsError, match="TAUSESTACK_USERS__PAGE_SIZE: unknown setting"):
        Settings().with_sections([])


def test_sections_can_be_added_again(project: Project) -> None:
    loaded = Settings(users={"page_size": 4}).with_sections([UsersSettings])
    again = loaded.with_sections([UsersSettings, BillingSettings])
    assert again.section(UsersSettings).page_size == 4
    assert again.section(BillingSettings).currency == "EUR"


def test_unreadable_yaml_is_reported(project: Project) -> None:
    (project.root / "application.yaml").write_bytes(b"app:\n  title: \xff\xfe\n")
    with pytest.raises(SettingsError, match=r"Cannot read settings file .*application\.yaml"):
        Settings()


# -- docs ---------------------------------------------------------------------------------------


def test_the_documented_core_keys_are_the_defaults() -> None:
    """docs/settings.md shows the defaults of discovery: and app: as they are in the code."""
    text = (Path(__file__).parents[1] / "docs" / "settings.md").read_text(encoding="utf-8")
    block = re.search(r"## Core keys\n\n```yaml\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/settings.md lost its 'Core keys' YAML block"
    documented = yaml.safe_load(block.group(1))
    assert documented["profile"] == Settings.model_fields["profile"].default
    assert documented["discovery"] == DiscoverySettings().model_dump()
    assert documented["discovery"]["modules"] == list(DEFAULT_DISCOVERY_MODULES)
    assert documented["app"] == AppSettings().model_dump()


# -- reprs ------------------------------------------------------------------------------------

SECRETS_IN_SETTINGS = {
    "database": {"url": "postgresql://app:db-url-pw@db.internal/app?sslpassword=db-query-pw"},
    "cache": {"redis": {"url": "redis://:cache-url-pw@cache:6379/0"}},
    "auth": {"jwt": {"secret": "jwt-secret-of-at-least-32-bytes-long"}},
    "storage": {"s3": {"access_key_id": "s3-access-key", "secret_access_key": "s3-secret-key"}},
    "notify": {"smtp": {"host": "smtp.example", "password": "smtp-pw"}},
    "tasks": {"redis": {"url": "redis://:tasks-url-pw@cache:6379/1"}},
    "security": {"rate_limit": {"storage": "redis://:limits-url-pw@cache:6379/2"}},
}


class PartnerSettings(SettingsSection, section="partner"):
    api_key: str = "partner-api-key"
    webhook_url: str = "https://hooks.example/in?token=partner-hook-token"
    headers: dict[str, str] = {"Authorization": "Bearer partner-jwt"}
    timeout: float = 5.0


def test_reprs_of_settings_and_sections_hide_secrets_and_dumps_keep_them(
    project: Project,
) -> None:
    settings = Settings(**SECRETS_IN_SETTINGS).with_sections([PartnerSettings])
    leaks = [
        "db-url-pw",
        "db-query-pw",
        "cache-url-pw",
        "jwt-secret-of",
        "s3-access-key",
        "s3-secret-key",
        "smtp-pw",
        "tasks-url-pw",
        "limits-url-pw",
        "partner-api-key",
        "partner-hook-token",
        "partner-jwt",
    ]
    shown = [
        repr(settings),
        str(settings),
        repr(settings.database),
        repr(settings.cache),
        repr(settings.cache.redis),
        repr(settings.auth.jwt),
        repr(settings.storage.s3),
        str(settings.notify.smtp),
        repr(settings.tasks),
        repr(settings.security),
        repr(settings.section(PartnerSettings)),
    ]
    for text in shown:
        for leak in leaks:
            assert leak not in text, f"{leak} in {text}"
    assert "url='postgresql://app:********@db.internal/app?sslpassword=********'" in repr(
        settings.database
    )
    assert "timeout=5.0" in repr(settings.section(PartnerSettings))
    assert "cookie='tausestack_session'" in repr(settings.auth.sessions)
    dumped = settings.model_dump()
    assert dumped["database"]["url"] == SECRETS_IN_SETTINGS["database"]["url"]
    assert dumped["partner"]["api_key"] == "partner-api-key"
    assert settings.cache.redis.url == "redis://:cache-url-pw@cache:6379/0"


SECRET_REFERENCES_YAML = """
database:
  url: postgresql://app:${secret:DB_PW}@db.internal/app
  check_on_startup: false
cache:
  redis:
    url: redis://:${secret:CACHE_PW}@cache:6379/0
tasks:
  redis:
    url: redis://:tasks-yaml-pw@cache:6379/1
security:
  rate_limit:
    storage: redis://:${secret:LIMITS_PW}@cache:6379/2
notify:
  smtp:
    password: ${secret:SMTP_PW}
storage:
  check_on_startup: false
  s3:
    secret_access_key: ${secret:S3_KEY}
"""


def test_every_rendering_of_loaded_settings_hides_secrets(
    project: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """YAML, the environment and ${secret:…} resolved by the env backend, as create_app does;
    repr, str, f-strings, logging and model_dump_json of the settings and of each section."""
    import json
    import logging

    from tausestack import create_app

    project.write("application.yaml", SECRET_REFERENCES_YAML)
    secrets = {
        "DB_PW": "db-ref-pw",
        "CACHE_PW": "cache-ref-pw",
        "LIMITS_PW": "limits-ref-pw",
        "SMTP_PW": "smtp-ref-pw",
        "S3_KEY": "s3-ref-key",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TAUSESTACK_CACHE__REDIS__MAX_CONNECTIONS", "7")
    monkeypatch.setenv("TAUSESTACK_TASKS__REDIS__URL", "redis://:tasks-env-pw@cache:6379/1")
    settings = create_app().settings
    assert settings.database.url == "postgresql://app:db-ref-pw@db.internal/app"

    sections = [
        settings.database,
        settings.cache,
        settings.cache.redis,
        settings.tasks,
        settings.tasks.redis,
        settings.security,
        settings.security.rate_limit,
        settings.notify,
        settings.notify.smtp,
        settings.storage,
        settings.storage.s3,
    ]
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests.settings").info("settings: %s", settings)
        for section in sections:
            logging.getLogger("tests.settings").info("section: %s %r", section, section)
    shown = [repr(settings), str(settings), f"{settings}", settings.model_dump_json(), caplog.text]
    for section in sections:
        shown += [repr(section), str(section), f"{section}", section.model_dump_json(indent=2)]
    leaks = [*secrets.values(), "tasks-env-pw"]
    for text in shown:
        for leak in leaks:
            assert leak not in text, f"{leak} in {text}"

    rendered = json.loads(settings.model_dump_json())
    assert rendered["database"]["url"] == "postgresql://app:********@db.internal/app"
    assert rendered["security"]["rate_limit"]["storage"] == "redis://:********@cache:6379/2"
    assert rendered["cache"]["redis"]["max_connections"] == 7
    assert rendered["auth"]["sessions"]["cookie"] == "tausestack_session"
    assert rendered["secrets"]["backend"] == "env"
    only = json.loads(settings.model_dump_json(include={"tasks": {"redis": {"url"}}}))
    assert only == {"tasks": {"redis": {"url": "redis://:********@cache:6379/1"}}}
    # The programmatic value keeps the secrets.
    assert settings.model_dump()["tasks"]["redis"]["url"] == "redis://:tasks-env-pw@cache:6379/1"
    assert settings.model_dump(mode="json")["cache"]["redis"]["url"].endswith(
        "cache-ref-pw@cache:6379/0"
    )


@pytest.mark.parametrize(
    ("yaml_text", "secret", "key"),
    [
        ("notify:\n  smtp:\n    password: 987654321\n", "987654321", "notify.smtp.password"),
        ("storage:\n  url_signing_key: 55443322\n", "55443322", "storage.url_signing_key"),
        (
            "security:\n  rate_limit:\n    enabled: true\n"
            "    storage: mongodb://app:limits-bad-pw@cache:27017\n",
            "limits-bad-pw",
            "security.rate_limit",
        ),
        (
            "database:\n  url: postgresql://app:db-bad-pw@db/app\n  pool_size: 0\n",
            None,
            "database.pool_size",
        ),
        (
            "database:\n  url: [postgresql://app:db-list-pw@db/app]\n",
            "db-list-pw",
            "database.url",
        ),
    ],
)
def test_settings_errors_hide_the_secrets_they_quote(
    project: Project, yaml_text: str, secret: str | None, key: str
) -> None:
    project.write("application.yaml", yaml_text)
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value)
    assert key in message
    assert "application.yaml" in message
    if secret is not None:
        assert secret not in message
        assert "********" in message
    assert "db-bad-pw" not in message


@pytest.mark.parametrize(
    "section",
    [
        {"cache": {"backend": "redis://:backend-pw@cache:6379/0"}},
        {"tasks": {"backend": "redis://:backend-pw@cache:6379/1"}},
        {"storage": {"backend": "s3://AKIA:backend-pw@bucket", "check_on_startup": False}},
    ],
    ids=["cache", "tasks", "storage"],
)
def test_a_url_written_as_a_backend_is_refused_without_its_password(
    tmp_path: Path, section: dict[str, Any]
) -> None:
    """``backend: redis://:pw@host`` for ``backend: redis`` plus ``redis.url``: the error
    quotes the backend it could not import, password and all."""
    from tausestack import create_app
    from tausestack.testing import TestClient

    settings = Settings(
        config_dir=tmp_path,
        installed_apps=["tausestack.sdk.cache", "tausestack.sdk.tasks", "tausestack.sdk.storage"],
        **section,
    )
    with pytest.raises(TauseStackError) as caught, TestClient(create_app(settings)):
        pass
    assert "cannot be imported" in str(caught.value)
    assert "backend-pw" not in str(caught.value)
    assert "A URL is not a backend" in str(caught.value)


def test_a_rate_limit_that_is_a_url_is_refused_without_its_password(tmp_path: Path) -> None:
    """A Redis URL written as a limit (``default:`` for ``storage:``): the validator's own
    message quotes the value, which the masked ``got …`` after it does not cover."""
    rate_limit = {"enabled": True, "default": "redis://:limit-pw@cache:6379/2"}
    with pytest.raises(SettingsError) as caught:
        Settings(config_dir=tmp_path, security={"rate_limit": rate_limit})
    assert "is not a rate limit" in str(caught.value)
    assert "limit-pw" not in str(caught.value)


def test_a_login_throttle_that_is_a_url_is_refused_without_its_password() -> None:
    """``auth.login_throttle.per_account`` is checked when contrib.auth starts: its error
    quotes the value too."""
    from tausestack.contrib.auth._throttle import LoginThrottle
    from tausestack.sdk.settings import LoginThrottleSettings
    from tausestack.web.middleware.settings import RateLimitSettings

    throttle = LoginThrottleSettings(per_account="redis://:throttle-pw@cache:6379/2")
    with pytest.raises(TauseStackError) as caught:
        LoginThrottle(throttle, RateLimitSettings())
    assert "is not a rate limit" in str(caught.value)
    assert "throttle-pw" not in str(caught.value)


def test_model_dump_json_by_alias_hides_an_aliased_secret() -> None:
    """A section's field named like a secret, read from a key of another name (an alias, or an
    alias generator): ``by_alias`` dumps it under the alias, which is then taken for its name."""
    from pydantic import ConfigDict, Field

    class MailerSettings(SettingsSection, section="mailer"):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)

        smtp_password: str = Field(default="", alias="smtpPass")

    class RelaySettings(SettingsSection, section="relay"):
        model_config = ConfigDict(
            extra="forbid", alias_generator=lambda name: name.replace("password", "pass")
        )

        relay_password: str = ""

    mailer = MailerSettings(smtpPass="aliased-pw")
    relay = RelaySettings(relay_pass="generated-pw")
    for model, secret in ((mailer, "aliased-pw"), (relay, "generated-pw")):
        assert secret not in repr(model)
        assert secret not in model.model_dump_json()
        assert secret not in model.model_dump_json(by_alias=True)
    assert mailer.model_dump_json(by_alias=True) == '{"smtpPass":"********"}'


def test_a_resolved_secret_reference_is_hidden_whatever_the_fields_name(
    project: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """docs/secrets.md: once create_app() has resolved the references, the renderings of
    app.settings still hide them. A field whose name says nothing (``stripe``, ``webhook``)
    holds a secret all the same when its value came from ``${secret:…}``: in the root, in the
    section, in a model inside it, in a list and a mapping; repr, str, logging and
    model_dump_json (by alias too). The code still gets the values."""
    import copy
    import json
    import logging
    import pickle

    from tausestack import create_app

    project.write(
        "billing/settings.py",
        """
        from pydantic import BaseModel, Field

        from tausestack import SettingsSection

        class Partner(BaseModel):
            account: str = ""

        class BillingSettings(SettingsSection, section="billing"):
            stripe: str = ""
            webhook: str = ""
            pin: str = Field(default="", serialization_alias="code")
            mirrors: list[str] = []
            routes: dict[str, str] = {}
            partner: Partner = Partner()
        """,
    )
    project.write(
        "application.yaml",
        """
        installed_apps: [billing]
        billing:
          stripe: ${secret:STRIPE_LIVE}
          webhook: https://hooks.example/in/${secret:HOOK_PATH}
          pin: ${secret:PIN}
          mirrors: ["https://a.example/${secret:MIRROR_KEY}"]
          routes: {eu: "${secret:ROUTE_EU}"}
          partner: {account: "${secret:PARTNER}"}
        """,
    )
    secrets = {
        "STRIPE_LIVE": "rk-live-value",
        "HOOK_PATH": "hook-path-value",
        "PIN": "42",  # short, and the whole value
        "MIRROR_KEY": "mirror-key-value",
        "ROUTE_EU": "route-eu-value",
        "PARTNER": "partner-value",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = create_app().settings
    billing = settings.billing  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests.settings").info(
            "%s %r %s %r", settings, settings, billing, billing
        )
    shown = [caplog.text]
    for model in (settings, billing):
        shown += [repr(model), str(model), f"{model}", model.model_dump_json(indent=2)]
        shown.append(model.model_dump_json(by_alias=True))
    # A plain model (not a section) and the values themselves: their reprs.
    shown += [repr(billing.partner), str(billing.partner), repr(billing.stripe)]
    shown += [repr(billing.mirrors), repr(billing.routes)]
    for text in shown:
        for value in secrets.values():
            assert f"'{value}'" not in text, f"{value} in {text}"
            assert f'"{value}"' not in text, f"{value} in {text}"
            if len(value) > 2:
                assert value not in text, f"{value} in {text}"

    rendered = json.loads(billing.model_dump_json())
    assert rendered["stripe"] == "********"
    assert rendered["webhook"] == "https://hooks.example/in/********"
    assert rendered["mirrors"] == ["https://a.example/********"]
    assert rendered["routes"] == {"eu": "********"}
    assert json.loads(billing.model_dump_json(by_alias=True))["code"] == "********"
    assert "webhook='https://hooks.example/in/********'" in str(billing)
    # The code gets the values, in every form it reads them.
    assert billing.stripe == "rk-live-value"
    assert billing.pin == "42"
    assert f"{billing.webhook}" == "https://hooks.example/in/hook-path-value"
    assert billing.model_dump()["routes"] == {"eu": "route-eu-value"}
    assert billing.model_dump(mode="json")["partner"] == {"account": "partner-value"}
    for again in (pickle.loads(pickle.dumps(billing)), copy.deepcopy(billing)):
        assert again.stripe == "rk-live-value"
        assert "rk-live-value" not in repr(again)
