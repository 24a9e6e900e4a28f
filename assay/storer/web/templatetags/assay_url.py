"""``{% url %}`` with its answers remembered (a builtin of the templates, in place of Django's).

Django reverses a URL name anew at every ``{% url %}``: 30–60 µs each (the resolver's namespace
and language lookups, the quoting), and the pages a deadline rush reloads have a dozen or more
(docs/performance.md §14). A name with the same arguments gives the same URL for as long as the
URL configuration and the script prefix stay what they were, and both are in the key.
"""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.conf import settings
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@functools.lru_cache(maxsize=4096)
def _reverse(
    view_name: str, args: tuple[tuple[type, Any], ...],
    kwargs: tuple[tuple[str, type, Any], ...], current_app: str | None, prefix: str, urlconf: Any,
) -> str:  # fmt: skip
    """``reverse``; each argument with its type (1 and True are equal keys, not equal URLs),
    ``prefix`` in the key only (``reverse`` reads it itself)."""
    return reverse(
        view_name, urlconf=urlconf, args=[v for _, v in args],
        kwargs={k: v for k, _, v in kwargs}, current_app=current_app,
    )  # fmt: skip


class CachedURLNode(URLNode):
    def render(self, context: template.Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app  # type: ignore[attr-defined]
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace  # type: ignore[attr-defined]
            except AttributeError:
                current_app = None
        urlconf = get_urlconf() or settings.ROOT_URLCONF
        try:
            try:
                key_args = tuple((type(v), v) for v in args)
                key_kwargs = tuple((k, type(v), v) for k, v in kwargs.items())
                found = _reverse(
                    view_name, key_args, key_kwargs, current_app, get_script_prefix(), urlconf
                )
            except TypeError:  # an argument that is no key (a list): ask Django itself
                found = reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
            found = ""
        if self.asvar:
            context[self.asvar] = found
            return ""
        return str(conditional_escape(found)) if context.autoescape else found


@register.tag
def url(parser: template.base.Parser, token: template.base.Token) -> CachedURLNode:
    """Django's ``{% url %}`` (the same syntax and result), its reversals remembered."""
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
