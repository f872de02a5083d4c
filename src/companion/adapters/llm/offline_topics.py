"""What a message is about: its content words, never filler, feelings or half words.

English words are split on letters; stop words (filler like "What's", "feeling",
"really") and the sentiment lexicon's feeling words are left out. Japanese has no
spaces: a topic is a katakana word, a Latin word, or a run of kanji that ends
where a particle or the copula follows (「猫が好き」 gives 猫, never 猫好, since
kana right after kanji is okurigana).
"""

from __future__ import annotations

import re

from companion.adapters import sentiment_lexicon
from companion.domain.replies import is_japanese

MAX_TOPIC_CHARS = 30

# Words too common to be a topic worth picking up again.
EN_STOPWORDS = frozenset(
    [
        "about",
        "after",
        "again",
        "also",
        "always",
        "because",
        "been",
        "before",
        "being",
        "could",
        "didn't",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "even",
        "every",
        "from",
        "going",
        "gonna",
        "have",
        "haven't",
        "here",
        "just",
        "know",
        "like",
        "maybe",
        "more",
        "much",
        "never",
        "really",
        "should",
        "some",
        "something",
        "still",
        "than",
        "that",
        "that's",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "thing",
        "things",
        "think",
        "this",
        "those",
        "though",
        "today",
        "tomorrow",
        "tonight",
        "very",
        "wanna",
        "want",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "yeah",
        "yesterday",
        "your",
        "you're",
        "i've",
        "i'll",
        "i'm",
        "thanks",
        "thank",
        "hello",
        # Filler of chat: never a topic worth picking up again.
        "the",
        "and",
        "but",
        "for",
        "you",
        "she",
        "her",
        "his",
        "him",
        "its",
        "was",
        "are",
        "not",
        "all",
        "any",
        "can",
        "had",
        "has",
        "how",
        "who",
        "why",
        "our",
        "out",
        "too",
        "now",
        "get",
        "did",
        "one",
        "let",
        "lol",
        "yes",
        "day",
        "bit",
        "way",
        "off",
        "own",
        "use",
        "see",
        "say",
        "new",
        "old",
        "yet",
        "per",
        "via",
        "etc",
        "omg",
        "wow",
        "hmm",
        "umm",
        "yep",
        "nah",
        "idk",
        "tbh",
        "btw",
        "ngl",
        "imo",
        "lot",
        "thinking",
        "talking",
        "saying",
        "looking",
        "trying",
        "wondering",
        "wanted",
        "wants",
        "what's",
        "how's",
        "it's",
        "there's",
        "here's",
        "feel",
        "feels",
        "felt",
        "feeling",
        "feelings",
        "anything",
        "everything",
        "nothing",
        "someone",
        "somebody",
        "anyone",
        "everyone",
        "people",
        "stuff",
        "kind",
        "sort",
        "lots",
        "guess",
        "mean",
        "actually",
        "literally",
        "basically",
        "honestly",
        "totally",
        "pretty",
        "kinda",
        "sorta",
        "gotta",
        "right",
        "okay",
        "sure",
        "said",
        "says",
        "tell",
        "told",
        "make",
        "made",
        "take",
        "took",
        "went",
        "come",
        "came",
        "getting",
        "got",
        "having",
        "only",
        "ever",
        "probably",
        "seriously",
        "tonight",
        "morning",
        "evening",
        "night",
        "week",
        "weekend",
        "time",
        "times",
        "year",
        "back",
        "home",
        "lately",
        "right now",
        "myself",
        "yourself",
        "please",
        "sorry",
        "hmmm",
        "haha",
        "hahaha",
        "lmao",
    ]
)

# Japanese words too common (or too vague) to be a topic.
JA_STOPWORDS = frozenset(
    [
        "今日",
        "明日",
        "昨日",
        "今",
        "今夜",
        "今朝",
        "最近",
        "毎日",
        "今度",
        "一番",
        "私",
        "俺",
        "僕",
        "自分",
        "君",
        "本当",
        "全然",
        "気持",
        "気持ち",
        "感じ",
        "気分",
        "何",
        "時",
        "事",
        "方",
        "人",
        "一緒",
        "前",
        "後",
        "中",
        "上",
        "下",
        "時間",
        "皆",
        "他",
        "多分",
        "絶対",
        "結構",
        "色々",
        "少",
        "全部",
        "一人",
        "話",
        "感",
        "気",
        "様",
        "的",
        "超",
        "系",
        "家",
        "帰",
        "マジ",
        "ホント",
        "ヤバ",
        "ちょっと",
    ]
)

_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_JA_TOPIC = re.compile(
    r"(?P<kata>[\u30a1-\u30fa\u30fc]{2,})"
    r"|(?P<kanji>[\u3005\u3400-\u4dbf\u4e00-\u9fff]+)(?=(?P<after>.?))"
    r"|(?P<latin>[A-Za-z]{3,})"
)
# What may follow a kanji noun: a particle or the copula, or anything but kana
# (kana straight after kanji is usually okurigana: 好き, 入院した, 元気な).
_JA_NOUN_FOLLOWERS = frozenset("がをにはのとでへもやかだじ")
_EN_POSSESSIVES = frozenset({"my", "our"})
_EN_ADJECTIVES = frozenset({"best", "little", "old", "new", "big", "older", "younger", "baby"})
# Feeling words are what the sentiment reads, not what the message is about.
_FEELING_WORDS = (
    frozenset(
        key for key in (*sentiment_lexicon.EN_WORDS, *sentiment_lexicon.EN_BOOSTS) if " " not in key
    )
    | sentiment_lexicon.EN_NEGATORS
)
_JA_FEELING_KEYS = (
    frozenset(sentiment_lexicon.JA_WORDS)
    | frozenset(sentiment_lexicon.JA_BOOSTS)
    | frozenset(sentiment_lexicon.JA_DUAL)
)
_JA_STOPWORDS_LONGEST_FIRST = sorted(JA_STOPWORDS, key=len, reverse=True)


def _en_content(word: str) -> bool:
    folded = word.casefold().strip("'-")
    return (
        len(folded) >= 3
        and "'" not in folded
        and folded not in EN_STOPWORDS
        and folded not in _FEELING_WORDS
    )


def _ja_words(text: str) -> list[str]:
    """Whole content words of a Japanese message: katakana words, kanji nouns, Latin words.

    A kanji run counts only when a particle, the copula or a non-kana follows it,
    so 「猫が好き」 gives 猫 and never the half word 猫好 (好 takes okurigana).
    """
    words = []
    for match in _JA_TOPIC.finditer(text):
        word = match.group(0)
        if match.group("kanji"):
            word, after = match.group("kanji"), match.group("after")
            if after and "\u3041" <= after <= "\u3096" and after not in _JA_NOUN_FOLLOWERS:
                continue
            if word not in JA_STOPWORDS:
                word = _without_filler_prefix(word)
        if word in JA_STOPWORDS or word.casefold() in EN_STOPWORDS:
            continue
        if any(key in word for key in _JA_FEELING_KEYS if len(key) > 1) or word in _JA_FEELING_KEYS:
            continue
        words.append(word)
    return words


def _without_filler_prefix(word: str) -> str:
    """「最近猫」 → 「猫」: a stop word written straight before a noun is not part of it."""
    for stop in _JA_STOPWORDS_LONGEST_FIRST:
        if word.startswith(stop) and len(word) > len(stop):
            return _without_filler_prefix(word[len(stop) :])
    return word


def topic_words(text: str) -> list[str]:
    """The words of a message worth picking up again, in order; never filler or half words."""
    if is_japanese(text):
        return _ja_words(text)
    return [word for word in _EN_WORD.findall(text) if _en_content(word)]


def topic(text: str) -> str | None:
    """The word of a message most worth picking up again: its longest content word."""
    words = topic_words(text)
    if not words:
        return None
    return max(words, key=len)[:MAX_TOPIC_CHARS]


def news_topic(text: str) -> str | None:
    """What bad news is about: "my cat got sick" → "your cat", 「猫が病気になった」 → 猫."""
    if is_japanese(text):
        words = _ja_words(text)
        return words[0][:MAX_TOPIC_CHARS] if words else None
    tokens = _EN_WORD.findall(text)
    for i, token in enumerate(tokens[:-1]):
        if token.casefold() not in _EN_POSSESSIVES:
            continue
        following = tokens[i + 1 : i + 3]
        described = len(following) > 1 and following[0].casefold() in _EN_ADJECTIVES
        if described and _en_content(following[1]):
            return f"your {following[0]} {following[1]}"[:MAX_TOPIC_CHARS]
        if _en_content(following[0]):
            return f"your {following[0]}"[:MAX_TOPIC_CHARS]
    return None
