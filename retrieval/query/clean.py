"""A chat message -> the question to search for, or a reply that needs no search.

Messages arrive as people type them: blank, invisible characters, pasted essays, a
greeting, thanks, another script. Each gets a short notice instead of a search that
could only return noise; a greeting before a question or thanks after it is dropped,
because the articles never use those words and they would count against the answer.

>>> clean_question("hi, when were relations established? thanks", Settings())
('when were relations established?', '')
"""

from __future__ import annotations

import re
import unicodedata

from retrieval.settings import Settings, is_default_model

# controls, zero-width and direction marks, and lone surrogates (undecodable bytes read with surrogateescape)
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
# a whole message that only greets, thanks or says goodbye gets a friendly word, not a search;
# a greeting before a question or thanks after it is dropped (the articles never use those words)
_HELLO = r"hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)"
_THANKS = r"(?:many |great,? )?thanks?(?: you)?(?: (?:so|very) much| a lot)?|thx|ty|cheers|much appreciated"
_ADDRESSEE = r"(?:[\s,]+(?:there|bot|again|all|everyone|then))?"
_SMALL_TALK = re.compile(
    rf"^\W*(?:(?P<hello>{_HELLO}|greetings|good day)|(?P<thanks>{_THANKS})|(?P<bye>bye|goodbye|bye-bye|see you|good night)){_ADDRESSEE}\W*$", re.I)
_POLITE_EDGES = re.compile(rf"^\W*(?:{_HELLO}){_ADDRESSEE}(?:\s*[,!.:;-]+\s*|\s+)|[\s,.;-]+(?:{_THANKS}|please)\W*$", re.I)
_SMALL_TALK_REPLY = {
    "hello": "Hello! Ask me a question about the articles, for example: {example}",
    "thanks": "You're welcome! Ask another question whenever you like.",
    "bye": "Goodbye! Come back with a question any time.",
}


def clean_question(question: str, settings: Settings) -> tuple[str, str]:
    """(usable question, notice for the user); an empty question means do not search."""
    example = settings.example_question
    text = _INVISIBLE.sub(" ", question or "")
    text = " ".join(text.split())
    if not text:
        return "", f"Please type a question, for example: {example}"
    if not any(c.isalnum() for c in text):
        return "", f"I could not find any words in that. Try a question such as: {example}"
    notice = ""
    limit = settings.max_question_chars
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] or text[:limit]
        notice = f"Your message was long, so I used only its first {limit} characters."
    bare = _POLITE_EDGES.sub("", text).strip()
    talk = _SMALL_TALK.match(text) or _SMALL_TALK.match(bare)
    if talk:
        return "", _SMALL_TALK_REPLY[talk.lastgroup].format(example=example)
    text = bare or text
    if _english_only(settings) and _latin_share(text) < 0.5:
        return "", "Sorry, I currently understand questions in English only. Please ask in English."
    return text, notice


def _english_only(settings: Settings) -> bool:
    """The default model reads English only, so other scripts get a notice instead of noise."""
    if settings.question_scripts == "auto":
        return is_default_model(settings.model)
    return settings.question_scripts == "latin"


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    return latin / len(letters)
