"""jiyue's rules on top of django-oauth-toolkit's request validator.

- a linked system that is disabled (or not registered through 对接系统) is an unknown client;
- PKCE with S256 only; a wrong verifier burns the code;
- an authorization code used a second time is refused and every token issued from it is
  revoked (RFC 6749 section 4.1.2);
- a disabled account's refresh tokens and access tokens are refused;
- claims: `sub` is a random stable id (not the database id), name, preferred_username, e-mail,
  phone (the decrypted mobile number), real-name level, account type, staff organisation.
Reasons for refusals are noted (`events.note`) for the audit entry the view writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from oauth2_provider.models import (get_access_token_model, get_grant_model,
                                    get_id_token_model, get_refresh_token_model)
from oauth2_provider.oauth2_validators import OAuth2Validator

from .events import note


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest()) \
        .rstrip(b"=").decode("ascii")


def _phone(user):
    from jiyue.accounts.models import normalise_mobile

    mobile = normalise_mobile(getattr(user, "mobile", "") or "")
    return f"+86{mobile}" if mobile else None


def _organisation(user):
    org = getattr(user, "organisation", None) if getattr(user, "kind", "staff") == "staff" else None
    if org is None:
        return None
    return {"name": org.name, "code": org.code}


class Validator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "real_name_level": "profile",
        "account_type": "profile",
        "organisation": "profile",
    }

    # --- clients ---------------------------------------------------------------------------

    def _load_application(self, client_id, request):
        from .services import client_enabled

        client = super()._load_application(client_id, request)
        if client is not None and not client_enabled(client):
            note(reason="client_disabled", client_id=client_id)
            request.client = None
            return None
        if client is None:
            note(reason="client_unknown", client_id=str(client_id)[:100])
        return client

    # --- authorization codes ---------------------------------------------------------------

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        from .models import UsedCode

        Grant = get_grant_model()
        grant = Grant.objects.filter(code=code, application=client).select_related("user").first()
        if grant is None:
            used = UsedCode.objects.filter(digest=code_digest(code), application=client).first()
            if used is None:
                note(reason="code_unknown")
                return False
            revoked = self._revoke_issued_from(used)
            note(reason="code_replayed", revoked_tokens=revoked,
                 user=used.user.get_username() if used.user else "")
            return False
        if grant.is_expired():
            grant.delete()
            note(reason="code_expired", user=grant.user.get_username())
            return False
        if not grant.user.is_active:
            grant.delete()
            note(reason="account_disabled", user=grant.user.get_username())
            return False
        if grant.code_challenge_method != "S256" or not grant.code_challenge:
            grant.delete()
            note(reason="pkce_method")
            return False
        verifier = request.code_verifier
        if verifier is not None and not hmac.compare_digest(s256(verifier), grant.code_challenge):
            # One attempt: a wrong verifier burns the code, so it cannot be guessed.
            grant.delete()
            note(reason="pkce_mismatch", user=grant.user.get_username())
            return False
        if verifier is None:
            note(reason="pkce_missing")
        return super().validate_code(client_id, code, client, request, *args, **kwargs)

    def _revoke_issued_from(self, used) -> int:
        RefreshToken = get_refresh_token_model()
        AccessToken = get_access_token_model()
        n = 0
        if used.token_family:
            live = RefreshToken.objects.filter(token_family=used.token_family, revoked__isnull=True).count()
            id_tokens = list(AccessToken.objects.filter(
                pk__in=RefreshToken.objects.filter(token_family=used.token_family)
                .values("access_token_id")).values_list("id_token_id", flat=True))
            RefreshToken.revoke_family(used.token_family)
            get_id_token_model().objects.filter(pk__in=[i for i in id_tokens if i]).delete()
            n += live
        if used.access_token_id:
            at = AccessToken.objects.filter(pk=used.access_token_id).first()
            if at is not None:
                if at.id_token_id:
                    get_id_token_model().objects.filter(pk=at.id_token_id).delete()
                at.delete()
                n += 1
        return n

    def _save_bearer_token(self, token, request, *args, **kwargs):
        super()._save_bearer_token(token, request, *args, **kwargs)
        if token.get("access_token"):
            request.jiyue_access_token = get_access_token_model().objects.filter(
                token_checksum=hashlib.sha256(token["access_token"].encode("utf-8")).hexdigest()).first()

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        from .models import UsedCode

        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        at = getattr(request, "jiyue_access_token", None)
        family = None
        if at is not None:
            family = get_refresh_token_model().objects.filter(access_token=at) \
                .values_list("token_family", flat=True).first()
        UsedCode.objects.create(digest=code_digest(code), application=request.client,
                                user=request.user, token_family=family,
                                access_token_id=at.pk if at is not None else None)

    # --- refresh and access tokens --------------------------------------------------------

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        RefreshToken = get_refresh_token_model()
        checksum = hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
        known = RefreshToken.objects.filter(token_checksum=checksum).order_by("-pk").first()
        ok = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if not ok:
            if known is None:
                note(reason="refresh_token_unknown")
            elif known.revoked is not None:
                note(reason="refresh_token_reused", user=known.user.get_username())
            else:
                note(reason="refresh_token_invalid", user=known.user.get_username())
            return False
        if not request.user.is_active:
            RefreshToken.revoke_family(known.token_family) if known.token_family else known.revoke()
            note(reason="account_disabled", user=request.user.get_username())
            return False
        return True

    def validate_bearer_token(self, token, scopes, request):
        from .services import client_enabled

        ok = super().validate_bearer_token(token, scopes, request)
        if ok:
            access = request.access_token
            reason = None
            if access.user is not None and not access.user.is_active:
                reason = "account_disabled"
            elif not client_enabled(access.application):
                reason = "client_disabled"
            if reason:
                note(reason=reason)
                request.oauth2_error = {"error": "invalid_token",
                                        "error_description": "The access token is invalid."}
                return False
        else:
            note(reason="access_token_invalid")
        return ok

    # --- claims ----------------------------------------------------------------------------

    def get_claim_dict(self, request):
        from .services import subject_for

        claims = super().get_claim_dict(request)
        claims["sub"] = lambda r: subject_for(r.user)
        return claims

    def get_additional_claims(self):
        return {
            "name": lambda r: r.user.get_full_name(),
            "preferred_username": lambda r: r.user.get_username(),
            "email": lambda r: r.user.email or None,
            "email_verified": lambda r: bool(r.user.email_verified) if r.user.email else None,
            "phone_number": lambda r: _phone(r.user),
            "phone_number_verified": lambda r: bool(r.user.mobile_verified) if _phone(r.user) else None,
            "real_name_level": lambda r: r.user.real_name_level,
            "account_type": lambda r: r.user.kind,
            "organisation": lambda r: _organisation(r.user),
        }

    def get_oidc_claims(self, token, token_handler, request):
        claims = super().get_oidc_claims(token, token_handler, request)
        return {k: v for k, v in claims.items() if v is not None}
