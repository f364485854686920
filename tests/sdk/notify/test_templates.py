"""Email templates: found in the installed apps' ``templates/email/`` in order, rendered with
autoescaped HTML and StrictUndefined, with errors that name the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tausestack import Service, Settings, create_app
from tausestack.sdk.notify import (
    ConsoleEmailBackend,
    InvalidMessageError,
    Notifier,
    NotifyConfigurationError,
    NotifySettings,
    TemplateNotFoundError,
    TemplateRenderError,
)
from tests.conftest import Project

SENDER = NotifySettings(sender="noreply@shop.test")


@Service
class Mailer:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier


def notifier_for(project: Project, *apps: str, **notify: object) -> Notifier:
    """The Notifier of an app with ``apps`` installed (built by create_app, as a service's
    dependency)."""
    settings = Settings(
        config_dir=project.root,
        installed_apps=list(apps),
        notify={"sender": "noreply@shop.test", **notify},
    )
    return create_app(settings, components=[Mailer]).container.get(Mailer).notifier


@pytest.fixture
def two_apps(project: Project) -> Project:
    project.write("apps/users/__init__.py")
    project.write("apps/users/templates/email/welcome.html", "<p>users: {{ name }}</p>")
    project.write("apps/users/templates/email/welcome.subject.txt", "Users welcome {{ name }}")
    project.write("apps/users/templates/email/only_users.txt", "from users")
    project.write("apps/billing/__init__.py")
    project.write("apps/billing/templates/email/welcome.html", "<p>billing: {{ name }}</p>")
    project.write("apps/billing/templates/email/invoice.txt", "Invoice {{ number }}")
    project.write("apps/billing/templates/email/invoice.subject.txt", "Invoice {{ number }}")
    return project


def test_apps_are_searched_in_installed_apps_order(two_apps: Project) -> None:
    first = notifier_for(two_apps, "apps.users", "apps.billing")
    assert first.render("welcome", {"name": "Ada"}).html == "<p>users: Ada</p>"
    assert first.render("invoice", {"number": 7}).text == "Invoice 7"
    assert first.render("only_users").text == "from users"
    swapped = notifier_for(two_apps, "apps.billing", "apps.users")
    assert swapped.render("welcome", {"name": "Ada"}).html == "<p>billing: Ada</p>"


def test_template_dirs_override_the_apps_with_every_part_from_one_folder(
    two_apps: Project,
) -> None:
    two_apps.write("apps/users/templates/email/welcome.txt", "users (old wording): {{ name }}")
    two_apps.write("emails/welcome.html", "<p>project: {{ name }}</p>")
    notifier = notifier_for(two_apps, "apps.users", template_dirs=["emails"])
    rendered = notifier.render("welcome", {"name": "Ada"})
    assert rendered.html == "<p>project: Ada</p>"
    assert rendered.text is None, "never the app's text beside the project's HTML"
    assert rendered.subject is None, "nor the app's subject"
    sent = notifier.prepare("ada@example.com", "Hi", template="welcome", context={"name": "Ada"})
    body = sent.message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == "project: Ada\n", "derived from the project's HTML"


def test_a_folder_with_only_the_subject_of_a_template_says_so(two_apps: Project) -> None:
    two_apps.write("emails/welcome.subject.txt", "Project subject")
    notifier = notifier_for(two_apps, "apps.users", template_dirs=["emails"])
    with pytest.raises(TemplateNotFoundError) as caught:
        notifier.render("welcome", {"name": "Ada"})
    message = str(caught.value)
    assert f"in {two_apps.root / 'emails'} has welcome.subject.txt but neither" in message
    assert "parts all come from the first folder that has any of them" in message


def test_a_template_dir_that_does_not_exist_fails_at_startup(project: Project) -> None:
    with pytest.raises(NotifyConfigurationError, match=r"notify.template_dirs lists 'mails'"):
        notifier_for(project, template_dirs=["mails"])


def test_subdirectories_includes_and_inheritance(project: Project) -> None:
    project.write("apps/shop/__init__.py")
    project.write(
        "apps/shop/templates/email/base.html",
        "<html><body>{% block content %}{% endblock %}<p>-- {{ shop }}</p></body></html>",
    )
    project.write(
        "apps/shop/templates/email/orders/shipped.html",
        "{% extends 'base.html' %}{% block content %}<p>Order {{ order }} shipped</p>"
        "{% endblock %}",
    )
    rendered = notifier_for(project, "apps.shop").render(
        "orders/shipped", {"order": 7, "shop": "<Shop>"}
    )
    assert rendered.html == (
        "<html><body><p>Order 7 shipped</p><p>-- &lt;Shop&gt;</p></body></html>"
    )
    assert rendered.text is None
    assert rendered.subject is None


def test_html_is_autoescaped_and_text_and_subject_are_not(tmp_path: Path) -> None:
    (tmp_path / "note.html").write_text("<p>{{ value }}</p>{{ trusted | safe }}")
    (tmp_path / "note.txt").write_text("{{ value }}")
    (tmp_path / "note.subject.txt").write_text("  About\n {{ value }}  \n")
    notifier = Notifier.over(ConsoleEmailBackend(), template_dirs=[tmp_path])
    rendered = notifier.render("note", {"value": "<b>A&B</b>", "trusted": "<i>ok</i>"})
    assert rendered.html == "<p>&lt;b&gt;A&amp;B&lt;/b&gt;</p><i>ok</i>"
    assert rendered.text == "<b>A&B</b>"
    assert rendered.subject == "About <b>A&B</b>", "one line, whitespace collapsed"


def test_a_missing_variable_names_it_the_file_and_the_line(tmp_path: Path) -> None:
    (tmp_path / "reset.txt").write_text("Hello {{ user.name }},\n\nReset: {{ link }}\n")
    notifier = Notifier.over(ConsoleEmailBackend(), template_dirs=[tmp_path])
    with pytest.raises(TemplateRenderError) as caught:
        notifier.render("reset", {"user": {"name": "Ada"}})
    assert str(caught.value).startswith(
        f"Email template {tmp_path / 'reset.txt'}, line 3: 'link' is undefined."
    )
    assert "context=" in str(caught.value)
    with pytest.raises(TemplateRenderError, match=r"line 1: 'dict object' has no attribute 'name'"):
        notifier.render("reset", {"user": {}, "link": "x"})


def test_a_missing_template_lists_where_it_was_looked_for(two_apps: Project) -> None:
    notifier = notifier_for(two_apps, "apps.users", "apps.billing")
    with pytest.raises(TemplateNotFoundError) as caught:
        notifier.render("goodbye")
    message = str(caught.value)
    assert "No email template 'goodbye': neither goodbye.html nor goodbye.txt is in" in message
    assert str(two_apps.root / "apps/users/templates/email") in message
    assert str(two_apps.root / "apps/billing/templates/email") in message
    empty = Notifier.over(ConsoleEmailBackend())
    with pytest.raises(TemplateNotFoundError, match="no installed app has a templates/email/"):
        empty.render("goodbye")


def test_syntax_errors_and_missing_includes(tmp_path: Path) -> None:
    (tmp_path / "broken.html").write_text("<p>\n{% if x %}never closed\n")
    (tmp_path / "partial.html").write_text("{% include 'footer.html' %}")
    (tmp_path / "raises.txt").write_text("{{ 1 // zero }}")
    notifier = Notifier.over(ConsoleEmailBackend(), template_dirs=[tmp_path])
    with pytest.raises(
        TemplateRenderError, match=r"broken\.html, line 2: Unexpected end of template\. "
    ):
        notifier.render("broken", {"x": True})
    with pytest.raises(
        TemplateRenderError,
        match=r"partial\.html, line 1 refers to 'footer\.html', which is not in /",
    ):
        notifier.render("partial")
    with pytest.raises(TemplateRenderError, match=r"raises\.txt, line 1 raised ZeroDivisionError"):
        notifier.render("raises", {"zero": 0})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("welcome.html", "leave out the extension"),
        ("../secrets", "Invalid template name"),
        ("/etc/passwd", "Invalid template name"),
        ("a//b", "Invalid template name"),
        ("", "Invalid template name"),
    ],
)
def test_template_names_are_checked(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(InvalidMessageError, match=message):
        Notifier.over(ConsoleEmailBackend(), template_dirs=[tmp_path]).render(name)


def test_a_template_without_a_subject_needs_one(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("Body")
    notifier = Notifier.over(ConsoleEmailBackend(), SENDER, template_dirs=[tmp_path])
    with pytest.raises(InvalidMessageError, match=r"add plain\.subject\.txt next to the template"):
        notifier.email("ada@example.com", template="plain")
    sent = notifier.prepare("ada@example.com", "Given", template="plain")
    assert sent.message["Subject"] == "Given"


def test_template_and_bodies_do_not_mix(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("Body")
    notifier = Notifier.over(ConsoleEmailBackend(), SENDER, template_dirs=[tmp_path])
    with pytest.raises(InvalidMessageError, match="either template= or text=/html="):
        notifier.prepare("ada@example.com", "x", text="y", template="plain")
    with pytest.raises(InvalidMessageError, match="context= is for templates"):
        notifier.prepare("ada@example.com", "x", text="y", context={"a": 1})
