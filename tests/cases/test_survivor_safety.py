"""The safety questions: danger and under 18 together, numbers as tel: links, and a service for
young people in the survivor's own country (asked, never guessed)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from takedown.cases.models import Case
from takedown.web.survivor.safety import EMERGENCY_NUMBERS, UNDER_18_ROUTES

pytestmark = pytest.mark.django_db

REPORT_REMOVE = UNDER_18_ROUTES["UK"].url


def tel_links(html: str) -> set[str]:
    return set(re.findall(r'href="tel:([^"]+)"', html))


def test_danger_and_under_18_together_show_the_emergency_numbers_on_the_under_18_page(client: Client) -> None:
    response = client.post("/start/", {"in_danger": "yes", "under_18": "yes", "country": "UK"})
    assert response.status_code == 302
    assert response["Location"] == "/start/under-18/?danger=1&country=UK"
    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="emergency-numbers"' in html
    assert {"999", "112", "911", "000"} <= tel_links(html)
    assert "https://takeitdown.ncmec.org/" in html
    assert Case.objects.count() == 0


def test_under_18_without_danger_shows_no_emergency_block(client: Client) -> None:
    response = client.post("/start/", {"in_danger": "no", "under_18": "unsure"})
    assert response["Location"] == "/start/under-18/"
    html = client.get("/start/under-18/").content.decode()
    assert 'data-testid="emergency-numbers"' not in html


def test_every_number_on_the_danger_page_is_a_tel_link(client: Client) -> None:
    html = client.get("/start/safety/").content.decode()
    assert {phone.dial for phone in EMERGENCY_NUMBERS} <= tel_links(html)
    assert {"+443456000459", "+18448782274"} <= tel_links(html)  # the two image-abuse helplines
    # No number is shown as plain text only: every digit run of a number sits inside a link.
    text_numbers = re.findall(r">\s*([0-9][0-9 \-]{2,})\s*<", html)
    assert text_numbers and all(f">{n.strip()}</a>" in html for n in text_numbers)


def test_under_18_route_follows_the_country_the_survivor_chose(client: Client) -> None:
    uk = client.get("/start/under-18/?country=UK").content.decode()
    chosen = uk.split('data-testid="route-chosen"')[1].split("</section>")[0]
    assert REPORT_REMOVE in chosen and "tel:08001111" in chosen
    assert UNDER_18_ROUTES["US"].url not in chosen

    # Not chosen: nothing is guessed (not from the address, not from the browser's language); every
    # country's service is listed, none picked.
    unknown = client.get("/start/under-18/", HTTP_ACCEPT_LANGUAGE="en-GB", REMOTE_ADDR="81.2.69.160").content.decode()
    assert 'data-testid="route-chosen"' not in unknown
    listed = unknown.split('data-testid="routes-other"')[1]
    assert all(route.url in listed for route in UNDER_18_ROUTES.values())

    # A made-up country is treated as not chosen, never as an error.
    assert 'data-testid="route-chosen"' not in client.get("/start/under-18/?country=XX").content.decode()


def test_the_start_form_refuses_an_unknown_country_with_a_clear_error(client: Client) -> None:
    response = client.post("/start/", {"in_danger": "no", "under_18": "yes", "country": "Atlantis"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_the_safety_pages_speak_spanish(client: Client) -> None:
    html = client.get("/start/under-18/?danger=1&country=UK", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Hay ayuda pensada para esto" in html and "Si estás en peligro ahora mismo" in html
    assert "Emergencias, Reino Unido" in html and "Para Reino Unido: Report Remove" in html
    sign_in = client.get("/case/sign-in/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "¿Has perdido tu PIN?" in sign_in
