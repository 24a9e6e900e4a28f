"""The single sign-on settings, from ASSAY_* environment variables (docs/sso.md lists them).

settings.py calls `sso_settings` with its strict helpers (a bad value fails loudly at start):
it returns OIDC (None unless ASSAY_OIDC_ISSUER is set), LOCAL_PASSWORD_LOGIN, and the
AUTH_LDAP_* settings of django-auth-ldap when ASSAY_LDAP_SERVER_URI is set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

EnvStr = Callable[[str, str], str]
EnvBool = Callable[[str, bool], bool]
EnvInt = Callable[[str, int], int]
EnvList = Callable[[str, list[str]], list[str]]

# the user fields an LDAP attribute may fill
LDAP_USER_FIELDS = ("first_name", "last_name", "email")
LDAP_GROUP_TYPES = {
    "groupOfNames": ("GroupOfNamesType", "(objectClass=groupOfNames)"),
    "nestedGroupOfNames": ("NestedGroupOfNamesType", "(objectClass=groupOfNames)"),
    "groupOfUniqueNames": ("GroupOfUniqueNamesType", "(objectClass=groupOfUniqueNames)"),
    "posixGroup": ("PosixGroupType", "(objectClass=posixGroup)"),
    "activeDirectory": ("NestedActiveDirectoryGroupType", "(objectClass=group)"),
}


def _loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


def oidc_settings(
    env_str: EnvStr, env_bool: EnvBool, env_int: EnvInt, env_list: EnvList
) -> dict[str, Any] | None:
    """The OpenID Connect provider's settings, or None when ASSAY_OIDC_ISSUER is not set."""
    issuer = env_str("ASSAY_OIDC_ISSUER", "").rstrip("/")
    if not issuer:
        return None
    parts = urlsplit(issuer)
    # an issuer over plain HTTP would let anyone on the path forge the keys that sign logins;
    # loopback is for tests and a provider on the same machine
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
        raise ImproperlyConfigured(
            f"Unexpected value ASSAY_OIDC_ISSUER={issuer!r}, use the provider's https:// URL"
        )
    client_id = env_str("ASSAY_OIDC_CLIENT_ID", "")
    client_secret = env_str("ASSAY_OIDC_CLIENT_SECRET", "")
    if not client_id or not client_secret:
        raise ImproperlyConfigured(
            "ASSAY_OIDC_ISSUER needs ASSAY_OIDC_CLIENT_ID and ASSAY_OIDC_CLIENT_SECRET "
            "(or ASSAY_OIDC_CLIENT_SECRET_FILE): register assay as a confidential client "
            "with the provider (docs/sso.md)"
        )
    scopes = env_list("ASSAY_OIDC_SCOPES", ["openid", "email", "profile"])
    if "openid" not in scopes:
        raise ImproperlyConfigured(
            f"Unexpected value ASSAY_OIDC_SCOPES={','.join(scopes)!r}, it must include 'openid'"
        )
    return {
        "ISSUER": issuer,
        "DISCOVERY_URL": env_str(
            "ASSAY_OIDC_DISCOVERY_URL", issuer + "/.well-known/openid-configuration"
        ),
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "PROVIDER_NAME": env_str("ASSAY_OIDC_PROVIDER_NAME", parts.hostname or issuer),
        "SCOPES": scopes,
        "USERNAME_CLAIM": env_str("ASSAY_OIDC_USERNAME_CLAIM", "preferred_username"),
        "EMAIL_CLAIM": env_str("ASSAY_OIDC_EMAIL_CLAIM", "email"),
        "FIRST_NAME_CLAIM": env_str("ASSAY_OIDC_FIRST_NAME_CLAIM", "given_name"),
        "LAST_NAME_CLAIM": env_str("ASSAY_OIDC_LAST_NAME_CLAIM", "family_name"),
        "ADMIN_CLAIM": env_str("ASSAY_OIDC_ADMIN_CLAIM", ""),
        "ADMIN_VALUES": env_list("ASSAY_OIDC_ADMIN_VALUES", []),
        "ALLOWED_DOMAINS": [
            d.lower().lstrip("@") for d in env_list("ASSAY_OIDC_ALLOWED_DOMAINS", [])
        ],
        "EMAILS_VERIFIED": env_bool("ASSAY_OIDC_EMAILS_VERIFIED", False),
        "MATCH_EMAIL": env_bool("ASSAY_OIDC_MATCH_EMAIL", False),
        "CA_FILE": env_str("ASSAY_OIDC_CA_FILE", ""),
        "TIMEOUT_S": env_int("ASSAY_OIDC_TIMEOUT_S", 10),
    }


def ldap_settings(
    env_str: EnvStr, env_bool: EnvBool, env_int: EnvInt, env_list: EnvList
) -> dict[str, Any]:
    """django-auth-ldap's AUTH_LDAP_* settings, or {} when ASSAY_LDAP_SERVER_URI is not set."""
    uri = env_str("ASSAY_LDAP_SERVER_URI", "")
    if not uri:
        return {}
    # python-ldap and django-auth-ldap's config classes, only for a storer that uses them
    import ldap
    from django_auth_ldap import config

    template = env_str("ASSAY_LDAP_USER_DN_TEMPLATE", "")
    search_base = env_str("ASSAY_LDAP_USER_SEARCH_BASE", "")
    if bool(template) == bool(search_base):
        raise ImproperlyConfigured(
            "ASSAY_LDAP_SERVER_URI needs either ASSAY_LDAP_USER_DN_TEMPLATE (bind as "
            "uid=%(user)s,ou=people,...) or ASSAY_LDAP_USER_SEARCH_BASE (search for the user, "
            "then bind as it), not both (docs/sso.md)"
        )
    bind_dn = env_str("ASSAY_LDAP_BIND_DN", "")
    timeout_s = env_int("ASSAY_LDAP_TIMEOUT_S", 5)
    options: dict[Any, Any] = {
        # Active Directory's referrals would make python-ldap bind anonymously elsewhere
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_NETWORK_TIMEOUT: timeout_s,
        ldap.OPT_TIMEOUT: timeout_s,
    }
    ca_file = env_str("ASSAY_LDAP_CA_FILE", "")
    if ca_file:
        options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: applies the TLS options above
    result: dict[str, Any] = {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_START_TLS": env_bool("ASSAY_LDAP_START_TLS", False),
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_BIND_DN": bind_dn,
        "AUTH_LDAP_BIND_PASSWORD": env_str("ASSAY_LDAP_BIND_PASSWORD", ""),
        # the user's entry and groups are read as the user, unless a service account reads
        # them (a directory that lets nobody read anonymously is the rule)
        "AUTH_LDAP_BIND_AS_AUTHENTICATING_USER": not bind_dn,
        "AUTH_LDAP_USER_ATTR_MAP": _attribute_map(
            env_str("ASSAY_LDAP_ATTRIBUTES", "first_name=givenName,last_name=sn,email=mail")
        ),
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,  # group memberships are read at every login
    }
    if template:
        if "%(user)s" not in template:
            raise ImproperlyConfigured(
                f"Unexpected value ASSAY_LDAP_USER_DN_TEMPLATE={template!r}, it must contain "
                "%(user)s where the username goes"
            )
        result["AUTH_LDAP_USER_DN_TEMPLATE"] = template
    else:
        search_filter = env_str("ASSAY_LDAP_USER_SEARCH_FILTER", "(uid=%(user)s)")
        result["AUTH_LDAP_USER_SEARCH"] = config.LDAPSearch(
            search_base, ldap.SCOPE_SUBTREE, search_filter
        )
    group_base = env_str("ASSAY_LDAP_GROUP_SEARCH_BASE", "")
    admin_group = env_str("ASSAY_LDAP_ADMIN_GROUP", "")
    require_group = env_str("ASSAY_LDAP_REQUIRE_GROUP", "")
    if (admin_group or require_group) and not group_base:
        raise ImproperlyConfigured(
            "ASSAY_LDAP_ADMIN_GROUP and ASSAY_LDAP_REQUIRE_GROUP need "
            "ASSAY_LDAP_GROUP_SEARCH_BASE (where the groups are)"
        )
    if group_base:
        kind = env_str("ASSAY_LDAP_GROUP_TYPE", "groupOfNames")
        if kind not in LDAP_GROUP_TYPES:
            raise ImproperlyConfigured(
                f"Unexpected value ASSAY_LDAP_GROUP_TYPE={kind!r}, use one of "
                + ", ".join(LDAP_GROUP_TYPES)
            )
        class_name, object_filter = LDAP_GROUP_TYPES[kind]
        result["AUTH_LDAP_GROUP_SEARCH"] = config.LDAPSearch(
            group_base, ldap.SCOPE_SUBTREE, object_filter
        )
        result["AUTH_LDAP_GROUP_TYPE"] = getattr(config, class_name)()
        if admin_group:
            # the directory decides at every login: out of the group, no longer an administrator
            result["AUTH_LDAP_USER_FLAGS_BY_GROUP"] = {
                "is_staff": admin_group,
                "is_superuser": admin_group,
            }
        if require_group:
            result["AUTH_LDAP_REQUIRE_GROUP"] = require_group
    return result


def _attribute_map(value: str) -> dict[str, str]:
    """ "first_name=givenName,email=mail" -> {"first_name": "givenName", "email": "mail"}."""
    mapping = {}
    for item in value.split(","):
        if not item.strip():
            continue
        field, _, attribute = item.partition("=")
        field, attribute = field.strip(), attribute.strip()
        if field not in LDAP_USER_FIELDS or not attribute:
            raise ImproperlyConfigured(
                f"Unexpected value ASSAY_LDAP_ATTRIBUTES={value!r}, use FIELD=attribute pairs "
                f"separated by commas, FIELD one of {', '.join(LDAP_USER_FIELDS)}"
            )
        mapping[field] = attribute
    return mapping


def sso_settings(
    env_str: EnvStr, env_bool: EnvBool, env_int: EnvInt, env_list: EnvList
) -> dict[str, Any]:
    """Every single sign-on setting, for settings.py to add to its globals."""
    helpers = (env_str, env_bool, env_int, env_list)
    ldap_conf = ldap_settings(*helpers)
    return {
        "OIDC": oidc_settings(*helpers),
        "LOCAL_PASSWORD_LOGIN": env_bool("ASSAY_LOCAL_LOGIN", True),
        "LDAP_ENABLED": bool(ldap_conf),
        **ldap_conf,
    }
