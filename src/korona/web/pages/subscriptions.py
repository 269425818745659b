"""Surveillance e-mail subscriptions: one's own, the office's view of anyone's, and unsubscribe."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.auth.models import User
from korona.auth.permissions import Permission, Principal
from korona.errors import N_
from korona.surveillance.geo import NATION, load_geography
from korona.surveillance_mail import service
from korona.surveillance_mail.models import SubscriptionKind
from korona.validation import RowId
from korona.web import i18n
from korona.web.access import CanPublic, CanSubscriptionManage, CanSubscriptionOwn
from korona.web.deps import DbSession, get_settings, require
from korona.web.forms import Rejected
from korona.web.handlers import see_other, submit
from korona.web.middleware import LANGUAGE_COOKIE
from korona.web.templating import render

router = APIRouter(prefix="/subscriptions", include_in_schema=False)

KIND_LABELS = {
    SubscriptionKind.WEEKLY_REPORT: N_("Weekly report"),
    SubscriptionKind.ALERTS: N_("Alerts for high signals"),
}
LocationCode = Annotated[str, Form(max_length=20, pattern=r"^(norge|county\d{2}|municip\d{4})$")]


def _locations(request: Request) -> dict[str, str]:
    """Return location code → name: the nation, the counties, then the municipalities."""
    geography = load_geography(get_settings(request).reference_dir)
    names = geography.names()
    counties = sorted(geography.counties["location_code"], key=lambda c: names[c])
    municipalities = sorted(geography.municipalities["location_code"], key=lambda c: names[c])
    return {code: names[code] for code in [NATION, *counties, *municipalities]}


def _page(
    request: Request,
    session: DbSession,
    principal: Principal,
    user_id: int,
    *,
    status_code: int = 200,
    error: Rejected | None = None,
) -> Response:
    user = service.user_for(principal, user_id, session=session)
    context = {
        "subject_user": user,
        "own": user.id == principal.user_id,
        "followed": service.followed(user, session=session),
        "locations": _locations(request),
        "kind_labels": KIND_LABELS,
        "action": _address(principal, user.id),
        "error": error,
    }
    return render(request, "subscriptions/page.html", context, status_code=status_code)


def _address(principal: Principal, user_id: int) -> str:
    """Return the address of the user's subscriptions page (one's own, or the office's view)."""
    return "/subscriptions" if user_id == principal.user_id else f"/subscriptions/users/{user_id}"


def _follow(
    request: Request,
    session: DbSession,
    principal: Principal,
    user_id: int,
    location_code: str,
    kinds: list[str],
) -> Response:
    known = _locations(request)
    return submit(
        lambda: service.follow(
            principal,
            user_id,
            location_code,
            service.kinds_from(kinds),
            session=session,
            known=known,
        ),
        session=session,
        field="location_code",
        redraw=lambda rejected: _page(
            request, session, principal, user_id, status_code=rejected.status_code, error=rejected
        ),
        done=_address(principal, user_id),
    )


def _stop(
    principal: Principal, user_id: int, location_code: str, kind: str, *, session: Session
) -> Response:
    (chosen,) = service.kinds_from([kind])
    service.unfollow(principal, user_id, location_code, chosen, session=session)
    return see_other(_address(principal, user_id))


@router.get("")
def own_page(request: Request, session: DbSession, principal: CanSubscriptionOwn) -> Response:
    """Show what the user follows, and a form to follow more."""
    assert principal.user_id is not None
    return _page(request, session, principal, principal.user_id)


@router.post("")
def own_follow(
    request: Request,
    session: DbSession,
    location_code: LocationCode,
    principal: CanSubscriptionOwn,
    kinds: Annotated[list[str], Form(max_length=2)] = [],  # noqa: B006 - FastAPI copies it
) -> Response:
    """Follow a location for the weekly report, alerts, or both."""
    assert principal.user_id is not None
    return _follow(request, session, principal, principal.user_id, location_code, kinds)


@router.post("/stop")
def own_stop(
    session: DbSession,
    location_code: LocationCode,
    kind: Annotated[str, Form(max_length=20)],
    principal: CanSubscriptionOwn,
) -> Response:
    """Stop following a location for one kind."""
    assert principal.user_id is not None
    return _stop(principal, principal.user_id, location_code, kind, session=session)


@router.get("/users/{user_id}")
def user_page(
    request: Request, session: DbSession, user_id: RowId, principal: CanSubscriptionManage
) -> Response:
    """Show and change anyone's subscriptions (the office)."""
    return _page(request, session, principal, user_id)


@router.post("/users/{user_id}")
def user_follow(
    request: Request,
    session: DbSession,
    user_id: RowId,
    location_code: LocationCode,
    principal: CanSubscriptionManage,
    kinds: Annotated[list[str], Form(max_length=2)] = [],  # noqa: B006 - FastAPI copies it
) -> Response:
    """Make a user follow a location (the office)."""
    return _follow(request, session, principal, user_id, location_code, kinds)


@router.post("/users/{user_id}/stop")
def user_stop(
    session: DbSession,
    user_id: RowId,
    location_code: LocationCode,
    kind: Annotated[str, Form(max_length=20)],
    principal: CanSubscriptionManage,
) -> Response:
    """Stop a user's subscription to a location for one kind (the office)."""
    return _stop(principal, user_id, location_code, kind, session=session)


UNSUBSCRIBE_PATH = "/unsubscribe/{user_id}/{kind}/{signature}"
Signature = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]+$")]


def _signed(request: Request, user_id: object, kind: object, signature: object) -> bool:
    """Return whether the link's signature was made with this server's key for this user and
    kind (a tampered or foreign link is not)."""
    if not isinstance(signature, str) or not re.fullmatch(r"[0-9a-f]{1,64}", signature):
        return False
    try:
        user = int(str(user_id))
        chosen = SubscriptionKind(str(kind))
    except ValueError:
        return False
    secret = get_settings(request).secret_key.get_secret_value()
    return service.signature_valid(secret, user, chosen, signature)


def _signed_link(request: Request) -> bool:
    """CSRF exemption of the unsubscribe POST: only a validly signed link (the signature, not
    a cookie, is the authority; mail providers post RFC 8058 one-click without cookies)."""
    params = request.path_params
    return _signed(request, params.get("user_id"), params.get("kind"), params.get("signature"))


def _in_users_language(request: Request, session: DbSession, user_id: int) -> None:
    """Answer the signed link in the user's language (that of their e-mail) unless the
    browser has chosen one on the site."""
    if LANGUAGE_COOKIE in request.cookies:
        return
    user = session.get(User, user_id)
    if user is not None and user.language in i18n.LANGUAGES:
        i18n.current_language.set(user.language)


def _invalid_link(request: Request) -> Response:
    return render(request, "subscriptions/unsubscribed.html", {"valid": False}, status_code=400)


@router.get(UNSUBSCRIBE_PATH)
def unsubscribe_page(
    request: Request,
    session: DbSession,
    user_id: RowId,
    kind: SubscriptionKind,
    signature: Signature,
    principal: CanPublic,
) -> Response:
    """Ask to confirm stopping one kind of surveillance e-mail; changes nothing.

    The link is in every mail, and mail scanners and link previews open links: a GET that
    unsubscribed would stop mail nobody asked to stop. The button POSTs to the same address.
    """
    if not _signed(request, user_id, kind, signature):
        return _invalid_link(request)
    _in_users_language(request, session, user_id)
    names = _locations(request)
    places = [names.get(code, code) for code in service.following(user_id, kind, session=session)]
    context = {"kind_label": KIND_LABELS[kind], "places": places}
    return render(request, "subscriptions/unsubscribe.html", context)


@router.post(UNSUBSCRIBE_PATH)
def unsubscribe(
    request: Request,
    session: DbSession,
    user_id: RowId,
    kind: SubscriptionKind,
    signature: Signature,
    principal: Principal = Depends(require(Permission.PUBLIC, csrf_exempt=_signed_link)),
) -> Response:
    """Stop one kind of surveillance e-mail: the confirmation page's button, or a mail
    provider's one-click POST (RFC 8058, body ``List-Unsubscribe=One-Click``, no cookies).

    The signed link is the authority: no login, and no CSRF token when (and only when) the
    signature is valid.
    """
    if not _signed(request, user_id, kind, signature):
        return _invalid_link(request)
    _in_users_language(request, session, user_id)
    stopped = service.unsubscribe(user_id, kind, session=session)
    context = {"valid": True, "stopped": stopped, "kind_label": KIND_LABELS[kind]}
    return render(request, "subscriptions/unsubscribed.html", context)
