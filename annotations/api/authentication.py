"""API token authentication: ``Authorization: Token <key>``, checked against hashed keys.

django-rest-knox's authenticator, with four changes:

* a key that is not 64 hexadecimal characters (an old clear-text DRF key, garbage, bytes
  that are not ASCII) is refused at once, with no query and never a 500;
* an expired token is refused and deleted, but knox's scan of *all* the user's other
  tokens on every request (one more query each time) is left out: expired rows are purged
  when the user makes a new token (``services.token_create``);
* its lookup of the tokens by key prefix is compiled once (``annotations.compiled``): it
  runs on every API call;
* the OpenAPI schema names it ``tokenAuth``, an ``Authorization: Token …`` header, as it
  did with DRF's own token authentication.

``request.auth`` is then the ``knox.models.AuthToken`` row, which ``DELETE
/api/v1/auth/token/`` revokes.
"""

from __future__ import annotations

import re
from hmac import compare_digest
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from annotations.compiled import CompiledModels

INVALID = _("Invalid token.")

# knox's lookup of the tokens whose key starts as the given one, with their users.
_TOKENS_BY_KEY = CompiledModels(
    get_token_model(),
    lambda token_key: get_token_model().objects.filter(token_key=token_key).select_related("user"),
    token_key=str,
)


def _key_format() -> re.Pattern[str]:
    length = knox_settings.AUTH_TOKEN_CHARACTER_LENGTH
    return re.compile(re.escape(knox_settings.TOKEN_PREFIX) + f"[0-9a-f]{{{length}}}")


class TokenAuthentication(KnoxTokenAuthentication):  # type: ignore[misc]
    keyword = "Token"

    def authenticate_credentials(self, token: bytes) -> Any:
        try:
            key = token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(INVALID) from None
        if not _key_format().fullmatch(key):
            raise exceptions.AuthenticationFailed(INVALID)
        # knox's loop over the tokens that share the key's prefix, with the lookup compiled
        # once (it runs on every API call): an expired one is deleted and skipped, the
        # digest is compared in constant time, an inactive user is refused.
        digest = hash_token(key)
        for auth_token in _TOKENS_BY_KEY.objects(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(INVALID)

    def _cleanup_token(self, auth_token: Any) -> bool:
        """True (and the row deleted) when this token has expired."""
        if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
            auth_token.delete()
            return True
        return False


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=TokenAuthentication.keyword
        )
