"""The sentiment scorer's words, emoji and kaomoji, in English and Japanese.

One module a seam: `english`, `japanese`, `faces` (emoji and kaomoji).

Each polar entry is `(valence, emotions)`: a valence on a -3..3 scale and the
emotions it expresses, space-separated names from `domain.sentiment.EMOTIONS`.
Keys are in the scorer's normal form (NFKC, lower case). English keys are
words or phrases of whole words; Japanese keys are matched longest-first
anywhere in the text, so adjectives are stems (「楽し」 covers 楽しい,
楽しかった and 楽しくない) and a longer key overrides a shorter one inside
it (「お疲れ」 is a greeting, not tiredness; 「すき焼き」 is food, not love).
"""

from companion.adapters.sentiment_lexicon.english import (
    EN_BOOSTS,
    EN_CONTRASTS,
    EN_DUAL,
    EN_LAUGHS,
    EN_NEGATORS,
    EN_WORDS,
)
from companion.adapters.sentiment_lexicon.entry import Entry
from companion.adapters.sentiment_lexicon.faces import (
    EMOJI,
    FACE_ANGRY,
    FACE_HAPPY,
    FACE_MARKS,
    FACE_SAD,
    KAOMOJI,
    LAUGH_EMOJI,
)
from companion.adapters.sentiment_lexicon.japanese import (
    JA_BOOSTS,
    JA_CONTRASTS,
    JA_DUAL,
    JA_LAUGHS,
    JA_LIKING,
    JA_NEGATION,
    JA_OBJECT_PARTICLES,
    JA_WORDS,
    JA_YOU,
)

__all__ = [
    "EMOJI",
    "EN_BOOSTS",
    "EN_CONTRASTS",
    "EN_DUAL",
    "EN_LAUGHS",
    "EN_NEGATORS",
    "EN_WORDS",
    "FACE_ANGRY",
    "FACE_HAPPY",
    "FACE_MARKS",
    "FACE_SAD",
    "JA_BOOSTS",
    "JA_CONTRASTS",
    "JA_DUAL",
    "JA_LAUGHS",
    "JA_LIKING",
    "JA_NEGATION",
    "JA_OBJECT_PARTICLES",
    "JA_WORDS",
    "JA_YOU",
    "KAOMOJI",
    "LAUGH_EMOJI",
    "Entry",
]
