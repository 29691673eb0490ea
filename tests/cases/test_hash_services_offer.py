"""Survivors are offered the on-device hash services at the right moment, with their limits said.

Adults who still hold their images are offered StopNCII where they decide about sharing fingerprints;
the page says what it does not do. Under-18s are sent to Take It Down instead, never StopNCII, which
takes adults' images only.
"""

from __future__ import annotations

import pytest
from django.test import Client

from takedown.cases import services
from takedown.core.access import Actor
from tests.cases.test_authorisation_matrix import survivor_client

pytestmark = pytest.mark.django_db


def test_the_case_page_offers_stopncii_with_what_it_does_not_do() -> None:
    opened = services.case_open(actor=Actor.system(), signature_name="S", urls=["https://a.example/1"])
    html = survivor_client(opened.case.reference, opened.pin).get("/case/").content.decode()
    offer = html[html.index('data-testid="stopncii"') :]
    offer = offer[: offer.index("</section>")]
    assert "https://stopncii.org/" in offer
    assert "18 or older" in offer  # adults only
    assert "only reaches the websites it works with" in offer  # not a removal everywhere
    assert "fake images made from your face" in offer  # deepfakes are not covered in practice
    assert "cannot recover them" in offer  # its PIN is the survivor's to keep


def test_under_18s_are_sent_to_take_it_down_not_stopncii(client: Client) -> None:
    html = client.get("/start/under-18/").content.decode()
    assert "https://takeitdown.ncmec.org/" in html
    assert "stopncii.org" not in html.lower()
