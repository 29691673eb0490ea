"""Staff must sign in with a password and TOTP, belong to an organisation, and have MFA enrolled."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.organizations.models import Membership, Organization, Role
from takedown.organizations.services import organization_create, staff_create
from tests.conftest import totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def current_code(secret: str) -> str:
    return totp_code(secret)


@pytest.fixture
def organization() -> Organization:
    return organization_create(actor=Actor.system(), name="Helpline A", slug="helpline-a", kind="helpline")


def make_staff(organization: Organization | None, email: str, *, with_totp: bool) -> tuple[AbstractBaseUser, str]:
    if organization is not None:
        user = staff_create(actor=Actor.system(), organization=organization, email=email, password=PASSWORD)
    else:
        user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    secret = generate_totp_secret()
    if with_totp:
        TOTP.activate(user, secret)
    return user, secret


def sign_in(client: Client, email: str, secret: str | None) -> None:
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    if secret is not None:
        assert response["Location"] == "/accounts/2fa/authenticate/"
        response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
        assert response.status_code == 302


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_member_without_mfa_must_enrol_first(client: Client, organization: Organization) -> None:
    make_staff(organization, "nomfa@example.org", with_totp=False)
    sign_in(client, "nomfa@example.org", None)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")


def test_password_alone_does_not_sign_in_when_totp_is_enrolled(client: Client, organization: Organization) -> None:
    make_staff(organization, "adv@example.org", with_totp=True)
    client.post("/accounts/login/", {"login": "adv@example.org", "password": PASSWORD})
    assert client.get("/staff/").status_code == 302  # still pending the second factor
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200  # form re-shown with an error
    assert client.get("/staff/").status_code == 302


def test_member_with_totp_sees_their_organisations(client: Client, organization: Organization) -> None:
    other = organization_create(actor=Actor.system(), name="Other NGO", slug="other", kind="ngo")
    make_staff(organization, "adv@example.org", with_totp=True)
    sign_in(client, "adv@example.org", get_secret("adv@example.org"))
    response = client.get("/staff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Helpline A" in html
    assert other.name not in html


def test_non_member_with_totp_is_refused(client: Client) -> None:
    _user, secret = make_staff(None, "loner@example.org", with_totp=True)
    sign_in(client, "loner@example.org", secret)
    response = client.get("/staff/")
    assert response.status_code == 403


def test_public_sign_up_is_closed(client: Client) -> None:
    before = get_user_model().objects.count()
    response = client.post(
        "/accounts/signup/", {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code in {200, 403}
    assert get_user_model().objects.count() == before


def test_admin_requires_mfa(client: Client) -> None:
    admin = get_user_model().objects.create_superuser(username="root", email="root@example.org", password=PASSWORD)
    client.post("/accounts/login/", {"login": "root@example.org", "password": PASSWORD})
    assert client.get("/admin/").status_code == 302  # no second factor: not let in
    secret = generate_totp_secret()
    TOTP.activate(admin, secret)
    client.logout()
    sign_in(client, "root@example.org", secret)
    assert client.get("/admin/").status_code == 200


def test_staff_create_records_membership_and_audit(organization: Organization) -> None:
    user = staff_create(
        actor=Actor.system(),
        organization=organization,
        email="Sup@Example.org",
        password=PASSWORD,
        role=Role.SUPERVISOR,
    )
    assert user.email == "sup@example.org"  # type: ignore[attr-defined]
    assert Membership.objects.get(user=user).role == Role.SUPERVISOR
    assert AuditEvent.objects.filter(action="membership.created", organization_id=organization.pk).exists()
    # Idempotent on email: a second call updates the role instead of duplicating the account.
    staff_create(actor=Actor.system(), organization=organization, email="sup@example.org", password=PASSWORD)
    assert get_user_model().objects.filter(email="sup@example.org").count() == 1
    assert Membership.objects.get(user=user).role == Role.ADVOCATE


def get_secret(email: str) -> str:
    from allauth.mfa.models import Authenticator

    from takedown.core.crypto import decrypt_text

    authenticator = Authenticator.objects.get(user__email=email, type=Authenticator.Type.TOTP)
    return decrypt_text(authenticator.data["secret"])
