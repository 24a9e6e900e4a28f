"""assay as an LTI 1.3 tool, on pylti1p3: the registrations read from the database
(``DbToolConf``), the login state kept in the database (``DbStorage``: every storer process
sees it, and it needs no third-party session cookie), and the launch's checks with what
pylti1p3 leaves out (``Launch``):

1. the state parameter matches the state cookie set at login (the browser that started the
   login is the one that finishes it);
2. the id_token's signature verifies against the platform's key set (fetched over HTTP and
   cached for ``KEY_SET_CACHE_S``; fetched again once when it lacks the token's key id: the
   platform rotated its keys), and it carries ``exp``, ``iat``, ``iss``, ``aud`` and ``nonce``,
   with ``exp`` in the future;
3. the issuer and client id (``aud``, or ``azp`` among several audiences) name a registered
   platform, and the deployment id is one of its deployments;
4. the nonce is the one this login sent, and it is used up: a replayed launch is refused.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from typing import Any

import requests
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract

from .models import LoginState, Platform

HTTP_TIMEOUT_S = 10  # a platform that does not answer must not hold a request (or a thread)
KEY_SET_CACHE_S = 3600
LOGIN_STATE_S = 600  # from the login initiation to the launch
LAUNCH_DATA_S = 3600  # from a deep linking launch to the teacher's pick
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "nonce"]


class TimeoutSession(requests.Session):
    """requests with a default timeout (pylti1p3 calls it without one)."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT_S)
        return super().request(*args, **kwargs)


def http_session() -> requests.Session:
    session = TimeoutSession()
    session.headers["User-Agent"] = "assay-lti"
    return session


def registration(platform: Platform) -> Registration:
    r = Registration()
    r.set_issuer(platform.issuer).set_client_id(platform.client_id)
    r.set_key_set_url(platform.jwks_url).set_auth_token_url(platform.auth_token_url)
    r.set_auth_login_url(platform.auth_login_url)
    r.set_auth_audience(platform.auth_audience or None)  # type: ignore[arg-type]
    r.set_tool_private_key(platform.private_key).set_tool_public_key(platform.public_pem())
    return r


def find_platform(issuer: str, client_id: str | None) -> Platform | None:
    """The registration of this issuer and client id; without a client id (a login
    initiation may omit it), the issuer's only registration."""
    found = Platform.objects.filter(issuer=issuer)
    if client_id:
        return found.filter(client_id=client_id).first()
    only = list(found[:2])
    return only[0] if len(only) == 1 else None


class DbToolConf(ToolConfAbstract):
    """The registrations in the database: an issuer may have several client ids."""

    def __init__(self) -> None:
        self.platform: Platform | None = None

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        return self.find_registration_by_params(iss, None, *args, **kwargs)  # type: ignore[arg-type]

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration:
        self.platform = find_platform(iss, client_id)
        return registration(self.platform) if self.platform else None  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        platform = self.platform or find_platform(iss, client_id)
        if platform is None:
            return None
        if platform.deployment_ids and deployment_id not in platform.deployment_ids:
            return None
        return Deployment().set_deployment_id(deployment_id)


class DbStorage(LaunchDataStorage[Any]):
    """pylti1p3's key-value store in the database (LoginState), each value with its expiry.
    Keys are global (no session cookie): the state cookie binds a login to its browser, and
    the nonce and state are long random strings used once."""

    def get_session_cookie_name(self) -> None:  # type: ignore[override]
        return None

    def set_session_id(self, session_id: str) -> None:
        pass

    def _live(self) -> Any:
        return LoginState.objects.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )

    def get_value(self, key: str) -> Any:
        row = self._live().filter(key=self._prepare_key(key)).values_list("value", flat=True)
        return row.first()

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        expires = timezone.now() + dt.timedelta(seconds=exp) if exp else None
        LoginState.objects.update_or_create(
            key=self._prepare_key(key), defaults={"value": value, "expires_at": expires}
        )

    def check_value(self, key: str) -> bool:
        return self._live().filter(key=self._prepare_key(key)).exists()

    def remove(self, key: str) -> bool:
        """Delete the value; whether it was there (and alive): a conditional delete, so of two
        requests using the same value exactly one gets True."""
        return bool(self._live().filter(key=self._prepare_key(key)).delete()[0])

    def can_set_keys_expiration(self) -> bool:
        return True


def purge_expired() -> int:
    """Forget login states and cached key sets past their expiry (the storer's loop)."""
    return LoginState.objects.filter(expires_at__lt=timezone.now()).delete()[0]


class StatefulLogin(DjangoOIDCLogin):
    """The login initiation, remembering the nonce it sends under its state (pylti1p3 keeps
    the two apart, so any nonce of any login would do for any launch)."""

    def _generate_nonce(self) -> str:
        nonce = super()._generate_nonce()
        self.pass_params_to_launch({"nonce": nonce})
        return nonce


def oidc_login(request: Any) -> StatefulLogin:
    found = StatefulLogin(request, DbToolConf())
    found.set_launch_data_storage(DbStorage()).set_launch_data_lifetime(LOGIN_STATE_S)
    return found


class Launch(DjangoMessageLaunch):
    """A launch (resource link or deep linking), validated as the module's docstring says."""

    def __init__(self, request: Any, **kwargs: Any) -> None:
        self.tool = DbToolConf()
        self.storage = DbStorage()
        super().__init__(
            request, self.tool, launch_data_storage=self.storage,
            requests_session=http_session(), **kwargs,
        )  # fmt: skip
        self.set_public_key_caching(self.storage, KEY_SET_CACHE_S)
        self.set_launch_data_lifetime(LAUNCH_DATA_S)
        self.set_jwt_verify_options({"verify_aud": False, "require": REQUIRED_CLAIMS})  # type: ignore[dict-item]

    @property
    def platform(self) -> Platform:
        assert self.tool.platform is not None, "validated launches have a platform"
        return self.tool.platform

    @classmethod
    def restore(cls, request: Any, launch_id: str) -> Launch:
        """A deep linking launch saved by its validation (the teacher's pick comes later)."""
        found = cls(request)
        data = found.storage.get_value(launch_id)
        if not data or not launch_id.startswith("lti1p3-launch-"):
            raise LtiException(
                "this deep linking request is unknown or too old: start it again from the LMS"
            )
        found.set_launch_id(launch_id).set_auto_validation(enable=False)
        found.set_jwt(t.cast(Any, {"body": data})).set_restored()
        found.validate_registration()
        return found

    def validate(self) -> Launch:
        if self._restored:
            raise LtiException("Can't validate restored launch")
        self._validated = True
        try:
            self.validate_state().validate_jwt_format().validate_registration()
            self.validate_jwt_signature().validate_deployment().validate_message()
            self.validate_nonce().save_launch_data()
        except Exception:
            self._validated = False
            raise
        return self

    def get_client_id(self) -> str:
        body = self._get_jwt_body()
        aud = body.get("aud")
        if isinstance(aud, list) and len(aud) > 1:
            # several audiences: the authorized party names the tool (OIDC core 3.1.3.7)
            azp = body.get("azp")
            if not azp or azp not in aud:
                raise LtiException("the id_token has several audiences and no azp among them")
            return str(azp)
        return str(aud[0] if isinstance(aud, list) and aud else aud or "")

    def validate_registration(self) -> Launch:
        super().validate_registration()
        azp = self._get_jwt_body().get("azp")
        if azp is not None and azp != self.get_client_id():
            raise LtiException("the id_token's azp is not this tool's client id")
        return self

    def get_public_key(self) -> tuple[str, str]:
        try:
            return super().get_public_key()
        except LtiException as e:
            if "Unable to find public key" not in str(e) or self._registration is None:
                raise
            # the cached key set may predate a key rotation: fetch it once more
            self.storage.remove(self._key_set_cache_key())
            self._registration.set_key_set(None)
            try:
                return super().get_public_key()
            except LtiException:
                raise LtiException(
                    "the id_token's key id is not in the platform's key set: check the key "
                    "set URL of the registration"
                ) from e

    def _key_set_cache_key(self) -> str:
        import hashlib

        url = self._registration.get_key_set_url() if self._registration else ""
        return "key-set-url-" + hashlib.md5((url or "").encode()).hexdigest()

    def validate_nonce(self) -> Launch:
        """The nonce must be the one its login sent (remembered under its state), and is used
        up: the state's parameters and the nonce are deleted, so a second launch with the same
        id_token finds neither."""
        nonce = self._get_jwt_body().get("nonce")
        state = self._get_request_param("state")
        if not nonce:
            raise LtiException('"nonce" is empty')
        params = self._session_service.get_state_params(state) or {}
        if params.get("nonce") != nonce:
            raise LtiException(
                "the nonce is not the one sent for this login: a launch is accepted once"
            )
        with transaction.atomic():
            used = self.storage.remove(self._session_service._get_key("nonce", nonce))
            self.storage.remove(self._session_service._get_key(state))
        if not used:
            raise LtiException("the nonce was used already: a launch is accepted once")
        return self
