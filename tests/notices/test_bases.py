"""Legal bases as data, and the choice of basis for a case and platform, with reasons."""

from __future__ import annotations

from takedown.cases.models import Case
from takedown.registry import bases as b
from takedown.registry.models import ContentKind, Platform

ALL = ["US", "EU", "UK", "AU", "IN", "BR", "other"]


def platform(name: str = "X (Twitter)", supported: list[str] | None = None) -> Platform:
    return Platform(
        slug="p", name=name, serves=ALL, supported_bases=supported if supported is not None else list(b.BASES)
    )


def case(jurisdictions: list[str], kind: str = ContentKind.AUTHENTIC) -> Case:
    return Case(jurisdictions=jurisdictions, content_kind=kind)


def test_every_basis_is_complete_data() -> None:
    assert set(b.BASES) == {
        "us_take_it_down",
        "eu_dsa",
        "uk_osa",
        "in_it_rules",
        "br_marco_civil",
        "platform_policy",
        "us_dmca_512",
        "au_osa",
    }
    for basis in b.BASES.values():
        assert basis.title and basis.short_title and basis.explanation
        assert basis.required_elements and all(code in b.ELEMENTS for code in basis.required_elements)
    # Hours the law gives, tracked only through the intake that starts them. The UK's 48 hours have no
    # confirmed commencement (none tracked); India's 2 hours are reported, not confirmed.
    assert {code: basis.deadline_hours for code, basis in b.BASES.items()} == {
        "us_take_it_down": 48,
        "eu_dsa": None,
        "uk_osa": None,
        "au_osa": None,
        "in_it_rules": 2,
        "br_marco_civil": None,
        "platform_policy": None,
        "us_dmca_512": None,
    }
    assert {code: basis.clock_intakes for code, basis in b.BASES.items() if basis.clock_intakes} == {
        "us_take_it_down": ("tida_process",),
        "in_it_rules": ("grievance_officer",),
    }
    assert not b.BASES["in_it_rules"].deadline_confirmed and b.BASES["us_take_it_down"].deadline_confirmed
    # Every notice but a copyright one states the person depicted did not consent.
    assert all("good_faith_nonconsent" in x.required_elements for x in b.BASES.values() if x.code != "us_dmca_512")
    assert (
        b.BASES["br_marco_civil"].language == "pt-br"
        and "requester_verification" in b.BASES["br_marco_civil"].required_elements
    )
    tida = b.BASES["us_take_it_down"]
    assert tida.required_elements == ("signature", "location", "good_faith_nonconsent", "contact")
    assert tida.covers_digital_forgeries
    dsa = b.BASES["eu_dsa"]
    assert set(dsa.required_elements) == {
        "legal_explanation",
        "location",
        "notifier_name_email",
        "good_faith_accuracy",
        "good_faith_nonconsent",
    }
    dmca = b.BASES["us_dmca_512"]
    assert dmca.opt_in and not dmca.covers_digital_forgeries
    assert dmca.warning is not None and "counter-notice" in str(dmca.warning) and "Lumen" in str(dmca.warning)
    assert "accuracy_perjury" in dmca.required_elements
    # No perjury wording where the law does not ask for it (TAKE IT DOWN, legal.md section 1).
    assert "accuracy_perjury" not in tida.required_elements


def test_us_case_on_x_prefers_take_it_down_with_a_reason() -> None:
    choices = b.select_bases(case(["US"]), platform())
    codes = [c.basis.code for c in choices]
    assert codes == ["us_take_it_down", "platform_policy"]
    first = choices[0]
    assert first.recommended and not choices[1].recommended
    assert first.reason.startswith("TAKE IT DOWN Act: you chose United States and X (Twitter) serves users there")
    assert "48 hours" in first.reason
    assert "own rules" in choices[1].reason


def test_statutory_bases_come_first_shortest_deadline_first() -> None:
    codes = [c.basis.code for c in b.select_bases(case(["EU", "UK", "IN", "BR", "US"]), platform())]
    assert codes == ["in_it_rules", "us_take_it_down", "uk_osa", "eu_dsa", "br_marco_civil", "platform_policy"]
    eu = b.select_bases(case(["EU"]), platform())[0]
    assert eu.basis.code == "eu_dsa" and "no law sets a fixed number of hours" in eu.reason


def test_dmca_only_on_request_and_never_for_forgeries() -> None:
    assert "us_dmca_512" not in [c.basis.code for c in b.select_bases(case(["US"]), platform())]
    with_opt_in = b.select_bases(case(["US"]), platform(), include_opt_in=True)
    assert [c.basis.code for c in with_opt_in][-1] == "us_dmca_512"
    assert "counter-notice" in with_opt_in[-1].warning
    forgery = b.select_bases(case(["US"], ContentKind.DIGITAL_FORGERY), platform(), include_opt_in=True)
    assert "us_dmca_512" not in [c.basis.code for c in forgery]
    assert forgery[0].basis.code == "us_take_it_down"  # covers digital forgeries


def test_platform_policy_when_no_law_applies() -> None:
    assert [c.basis.code for c in b.select_bases(case([]), platform())] == ["platform_policy"]
    assert [c.basis.code for c in b.select_bases(case(["other"]), platform())] == ["platform_policy"]
    # A law the platform's registry entry does not list (a search engine is not a TIDA platform).
    search = platform("Google Search", ["uk_osa", "in_it_rules", "platform_policy"])
    assert [c.basis.code for c in b.select_bases(case(["US", "UK"]), search)] == ["uk_osa", "platform_policy"]
    # A platform that does not serve the jurisdiction.
    local = Platform(slug="l", name="Local", serves=["BR"], supported_bases=list(b.BASES))
    assert [c.basis.code for c in b.select_bases(case(["US"]), local)] == ["platform_policy"]


def test_backstop_provisions_name_the_survivor_s_law() -> None:
    lines = b.backstop_provisions(["US", "UK", "EU", "AU", "IN", "BR"], member_state="FR", forgery=True)
    text = " ".join(lines)
    assert "47 U.S.C. 223(h)" in text and "section 66B of the Sexual Offences Act 2003" in text
    assert "appears to show" in text and "France under articles 226-2-1 and 226-8-1 of the French Penal Code" in text
    assert "Online Safety Act 2021 (s.75)" in text and "rule 3(2)(b)" in text
    assert "article 218-C" in text and "216-B" in text
    assert "2024/1385" not in text  # not transposed before June 2027: never cited as binding
    # A Member State without a listed offence names none until the advocate enters the provision.
    assert not [line for line in b.backstop_provisions(["EU"], member_state="PL") if "Poland" in line]
    entered = b.backstop_provisions(["EU"], member_state="PL", national_offence="art. 191a of the Polish Criminal Code")
    assert entered == [
        "European Union: sharing intimate images of a person without their consent is a criminal offence in Poland "
        "under art. 191a of the Polish Criminal Code."
    ]
    assert b.backstop_provisions(["US", "UK"], skip=["UK"]) == lines[:1]
