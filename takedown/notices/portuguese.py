"""Brazil's notices are written in Portuguese: the statements a Marco Civil notice makes.

The project has no Portuguese translation catalogue, and these sentences are legal statements that
must not drift with the interface's translations: they are written here once, in Portuguese, with
their English meaning beside them. Sources: legal.md section 6 (Brazil) and notices-review.md
("Brazil": Art. 21 and its sole paragraph, CP art. 218-C and art. 216-B sole paragraph).
"""

from __future__ import annotations

from takedown.registry import bases as b

MONTHS = (
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
)


def statements(*, forgery: bool, representative: bool) -> dict[str, str]:
    """The signed statements, in Portuguese."""
    # "We state in good faith that the person depicted did not consent to the publication of this
    # intimate content." (+ "It is a montage (deepfake) made to look like the person depicted.")
    nonconsent = "Declaramos de boa-fé que a pessoa retratada não consentiu com a divulgação deste conteúdo íntimo."
    if forgery:
        nonconsent += " Trata-se de montagem (deepfake) feita para parecer a pessoa retratada."
    return {
        b.GOOD_FAITH_NONCONSENT: nonconsent,
        # "This notice is presented by the person depicted" / "by a representative they authorised".
        b.SUBJECT_DECLARATION: (
            "Esta notificação é apresentada em nome da pessoa retratada, por representante autorizado por ela."
            if representative
            else "Esta notificação é apresentada pela pessoa retratada."
        ),
    }


def representative_signature(name: str, authorisation: str) -> str:
    """ "<name>, representative authorised by the person depicted (authorisation: ...)"."""
    return f"{name}, representante autorizado(a) pela pessoa retratada (autorização: {authorisation})"


def date_pt(value: object) -> str:
    """A date as Brazilians write it in a letter: "1 de julho de 2026"."""
    day, month, year = getattr(value, "day", 0), getattr(value, "month", 1), getattr(value, "year", 0)
    return f"{day} de {MONTHS[month - 1]} de {year}"
