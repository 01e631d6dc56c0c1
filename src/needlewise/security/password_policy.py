"""Which passwords staff may choose: long enough, not blank, and hard to guess.

Strength is estimated offline by zxcvbn (its dictionaries of common passwords, names and
words ship inside the package; nothing is sent anywhere). A password is refused when
zxcvbn scores it below :data:`MIN_SCORE` (3 of 4: "safely unguessable", about 10^8
guesses or more) once the account's own email and name are counted as known words, and
the refusal carries zxcvbn's feedback so the person knows what to change.
"""

from __future__ import annotations

from collections.abc import Iterable

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_SCORE = 3
#: zxcvbn refuses longer input (its matching is quadratic); the first 72 characters are
#: what it judges, which only ever makes a long password look weaker, never stronger
_ZXCVBN_MAX = 72
#: words anyone would try first against this service
_SERVICE_WORDS = ("needlewise", "needle", "needling", "dry needling", "clinic")


def weakness(password: str, known: Iterable[str] = ()) -> str | None:
    """Why ``password`` may not be used, in plain words; ``None`` when it may.

    ``known`` are words tied to the account (its email, its name, the clinic's name):
    a password built from them is guessed first, so they count against it.
    """
    if not password.strip():
        return "the password is only spaces; choose one with words or characters in it"
    if len(password) < MIN_LENGTH:
        return f"the password is shorter than {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password is longer than {MAX_LENGTH} characters"
    from zxcvbn import zxcvbn  # its dictionaries take a moment to load: only when needed

    inputs = [*_SERVICE_WORDS, *_words_of(known)]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)
    if int(result["score"]) >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    hints = [str(feedback["warning"] or "").strip()]
    hints += [str(s).strip() for s in feedback["suggestions"]]
    advice = " ".join(h if h.endswith(".") else f"{h}." for h in hints if h)
    return f"the password is too easy to guess. {advice or 'Add another word or two.'}"


def _words_of(known: Iterable[str]) -> list[str]:
    """Each value and its parts (an email's local part and domain labels, a name's words)."""
    words: list[str] = []
    for value in known:
        value = value.strip().lower()
        if not value:
            continue
        words.append(value)
        for separator in ("@", ".", " ", "-", "_", "+"):
            value = value.replace(separator, " ")
        words += [part for part in value.split() if len(part) >= 3]
    return words
