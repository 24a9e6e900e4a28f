"""``{% url %}`` remembers its reversals (assay/storer/web/templatetags/assay_url.py): the same
URLs as Django's own tag, whatever the arguments, the script prefix or the URL configuration."""

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_it_gives_the_urls_djangos_tag_gives():
    assert render("{% url 'web:home' %}") == reverse("web:home")
    assert render("{% url 'web:submission' 7 %}") == reverse("web:submission", args=[7])
    assert render("{% url 'web:submission' submission_id=n %}", n=8) == reverse(
        "web:submission", kwargs={"submission_id": 8}
    )
    assert render("{% url 'web:course' slug %}", slug="prog1") == reverse(
        "web:course", args=["prog1"]
    )


def test_it_keeps_asvar_and_its_silence_on_an_unknown_name():
    assert (
        render("{% url 'web:submission' 3 as u %}[{{ u }}]")
        == f"[{reverse('web:submission', args=[3])}]"
    )
    assert render("{% url 'no-such-view' as u %}[{{ u }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        render("{% url 'no-such-view' %}")


def test_a_new_script_prefix_gives_new_urls():
    before = render("{% url 'web:home' %}")
    set_script_prefix("/assay/")
    try:
        assert render("{% url 'web:home' %}") == "/assay" + before
    finally:
        set_script_prefix("/")
    assert render("{% url 'web:home' %}") == before


@override_settings(ROOT_URLCONF="assay.storer.urls")
def test_it_follows_the_url_configuration_in_use():
    assert render("{% url 'web:home' %}") == reverse("web:home")
