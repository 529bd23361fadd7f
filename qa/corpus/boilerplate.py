"""Page debris: which lines of an article's text are the article, as kept regions.

Nothing is removed from the text: cleaning gives (start, end) offsets of the lines to keep, so that
everything downstream quotes the stored text exactly. Debris is menus, cookie and newsletter
banners, share buttons, breadcrumbs, labels of generated images, copyright trailers and the
teasers for other pages that follow them.
"""

from __future__ import annotations

import re

# Labels of generated images and texts ("Bild generiert von KI"), sometimes several on one line.
_AI_LABEL = (
    r"(?:(?:bild|image|photo|foto|picture)\ (?:generiert|generated|created)\ (?:von|by)\ (?:ki|ai)"
    r"|von\ ki\ berichtet|reported\ by\ ai|ai[- ]generated(?:\ image)?)"
)
_LINE_DEBRIS = re.compile(
    r"""^(?:
      # comment forms
      leave\ a\ (?:reply|comment) | post\ (?:a\ )?comment | cancel\ reply | add\ a\ comment | \d*\ ?comments?
    | please\ enter\ your\ (?:comment|name|email(?:\ address)?|e-mail)(?:\ here)?
    | you\ have\ entered\ an\ incorrect\ email\ address
    | save\ my\ name,\ email,?\ and\ website\ in\ this\ browser.*
      # teaser headings
    | most\ (?:popular|read|viewed|shared)
    | don['’]t\ miss | related(?:\ (?:articles|posts|stories|news|content|coverage))?
    | you\ (?:may|might)\ also\ (?:like|be\ interested\ in) | read\ (?:more|also|next) | also\ read | see\ also
    | more\ (?:stories|news|from\ .{1,40})
    | recommended(?:\ for\ you|\ stories|\ articles)? | trending(?:\ now|\ stories)?
    | popular(?:\ posts|\ stories|\ articles)? | latest(?:\ news|\ stories|\ posts|\ articles)?
    | editor['’]?s['’]?\ picks | top\ stories
    | verwandte\ artikel | weitere\ artikel | das\ könnte\ sie\ auch\ interessieren | mehr\ zum\ thema
    | articoli\ correlati | leggi\ anche | articles\ similaires
    | lire\ aussi | art[ií]culos\ relacionados | noticias\ relacionadas
      # sharing, subscribing, advertising
    | share(?:\ (?:this|on)(?:\ \w+)?)? | tweet | email | print
    | advertisement | sponsored(?:\ content)? | anzeige | werbung
    | subscribe(?:\ now|\ to\ .{1,40})? | sign\ up(?:\ for\ .{1,40})? | newsletter
      # labels of generated images and texts
    | {ai_label}(?:\s+{ai_label})*
      # cookie banner buttons
    | (?:accept|reject|decline|deny|agree|allow)(?:\ all)?(?:\ cookies)? | (?:alle\ )?(?:akzeptieren|ablehnen|zustimmen)
    | (?:accetta|rifiuta)(?:\ tutto)? | (?:accepter|refuser)(?:\ tout)? | (?:aceptar|rechazar)(?:\ todo)?
    | manage\ (?:preferences|cookies|settings|consent) | cookie\ (?:settings|preferences|policy|einstellungen)
    | (?:privacy|cookie)\ policy | datenschutz(?:erklärung|richtlinie)?
    )[\s.!:]*$""".replace("{ai_label}", _AI_LABEL),
    re.IGNORECASE | re.VERBOSE,
)

_COOKIE = re.compile(r"\bcookies?\b", re.IGNORECASE)
_COOKIE_CONTEXT = re.compile(
    r"website|web\ site|\bsite\b|we\ use|wir\ verwenden|verwendet|utilizziamo|nous\ utilisons|utilizamos|consent|"
    r"zustimm|privacy|datenschutz|browsing|experience|analytics|analysen",
    re.IGNORECASE | re.VERBOSE,
)
_BREADCRUMB = re.compile(r"^(?:Home(?=[A-Z])|Home\s*[>»›/|]|(?:[^>»›\n]{1,40}\s[>»›]\s){2,})")
_COPYRIGHT_LINE = re.compile(
    r"^\s*(?:\[\s*)?(?:copyright\b|©|\(c\)\s*\d{4})|all rights reserved"
    r"|alle rechte vorbehalten|tutti i diritti riservati",
    re.IGNORECASE,
)
_COPYRIGHT_TRAILER = re.compile(
    r"(?:\s*\bEND\b)?\s*\[\s*(?:copyright|©)[^\]\n]{0,120}\]\s*$|\s+©\s*\d{4}[^.\n]{0,80}$",
    re.IGNORECASE,
)
_END_MARK = re.compile(r"^\s*(?:END|-30-|###)\s*$")


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, without its line break."""
    spans = []
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        spans.append((pos, pos + len(body)))
        pos += len(line)
    return spans


def _is_debris(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if len(stripped) <= 80 and _LINE_DEBRIS.match(stripped):
        return True
    if len(stripped) <= 400 and _COOKIE.search(stripped) and _COOKIE_CONTEXT.search(stripped):
        return True
    if len(stripped) <= 200 and (_BREADCRUMB.match(stripped) or _COPYRIGHT_LINE.search(stripped)):
        return True
    return False


def clean(text: str) -> list[tuple[int, int]]:
    """Regions of ``text`` that are article text: page debris (cookie notices, comment forms,
    teaser headings, breadcrumbs, copyright trailers and what follows them) left out."""
    kept: list[tuple[int, int]] = []
    current: list[int] | None = None
    previous_line = None

    def close() -> None:
        nonlocal current
        if current is not None:
            kept.append((current[0], current[1]))
        current = None

    for start, end in _lines(text):
        line = text[start:end]
        stripped = line.strip()
        if not stripped:
            continue
        ended = False
        if _is_debris(line) or _END_MARK.match(line) or stripped == previous_line:
            ended = bool(_COPYRIGHT_LINE.search(stripped) or _END_MARK.match(line))
            close()
        else:
            trailer = _COPYRIGHT_TRAILER.search(line)
            if trailer:
                end = start + trailer.start()
                ended = True
            # trim the line's own leading/trailing whitespace so regions start and end on text
            lead = len(line) - len(line.lstrip())
            start += lead
            end = start + len(text[start:end].rstrip())
            if end > start:
                if current is None:
                    current = [start, end]
                else:
                    current[1] = end
            if ended:
                close()
        previous_line = stripped
        if ended:  # whatever follows a copyright trailer or an END mark is teasers for other pages
            break
    close()
    return kept


