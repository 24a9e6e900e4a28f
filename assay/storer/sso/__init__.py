"""Single sign-on (issue 13): OpenID Connect (authlib) and LDAP (django-auth-ldap), each off until
its settings name a provider; local accounts stay possible (docs/sso.md)."""
