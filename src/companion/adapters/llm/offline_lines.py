"""The offline responder's lines, in English and Japanese.

Every template is one sentence. Cue lines always name the user (`{nick}`), so
that every reply does. Placeholders:

- `{nick}` the user's nickname, `{name}` / `{self_nick}` the character's name
  and nickname, `{role}` boyfriend or girlfriend, `{me}` the character's
  Japanese first person, `{interj}` an interjection that suits the age;
- `{hobby}`, `{occupation}` (`{a_occupation}` with its article), `{topic}`:
  only when the persona or the recent turns provide one; templates that need
  a missing one are skipped.
"""

from __future__ import annotations

Lines = tuple[str, ...]

# Checked in this order: the first cue found in the user's text picks the line.
CUE_ORDER = ("sad", "thanks", "hobby", "greeting", "question")

# English cue words, matched as whole words, case-insensitively.
EN_CUE_WORDS: dict[str, Lines] = {
    "sad": (
        "sad",
        "tired",
        "exhausted",
        "lonely",
        "depressed",
        "down",
        "upset",
        "stressed",
        "crying",
        "cried",
        "sleepy",
        "worn out",
        "awful",
        "rough day",
        "hurts",
    ),
    "thanks": ("thanks", "thank", "thx", "ty", "appreciate", "grateful"),
    "hobby": ("hobby", "hobbies", "free time", "for fun"),
    "greeting": (
        "hi",
        "hello",
        "hey",
        "hiya",
        "yo",
        "good morning",
        "good evening",
        "good afternoon",
        "morning",
        "evening",
        "i'm home",
        "im home",
    ),
}

# Japanese cue words, matched as substrings (Japanese has no spaces between words).
JA_CUE_WORDS: dict[str, Lines] = {
    "sad": (
        "悲しい",
        "かなしい",
        "疲れ",
        "つかれ",
        "つらい",
        "辛い",
        "寂しい",
        "さみしい",
        "さびしい",
        "落ち込",
        "しんどい",
        "眠い",
        "ねむい",
        "泣",
        "憂鬱",
        "だるい",
    ),
    "thanks": ("ありがとう", "ありがと", "感謝", "サンキュー", "助かった", "助かる"),
    "hobby": ("趣味", "好きなこと"),
    "greeting": (
        "こんにちは",
        "こんばんは",
        "おはよう",
        "やあ",
        "ただいま",
        "もしもし",
        "ハロー",
        "はじめまして",
        "よろしく",
    ),
}

QUESTION_MARKS = ("?", "？")

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
    ]
)

INTERJECTIONS: dict[str, dict[str, Lines]] = {
    "en": {
        "young": ("Ooh", "Oh wow", "Mm-hm"),
        "adult": ("Oh", "Ah", "Mm"),
        "mature": ("Well", "Ah", "Hmm"),
    },
    "ja": {
        "young": ("うんうん", "へぇ〜", "わぁ"),
        "adult": ("うん", "へえ", "そっか"),
        "mature": ("ふむ", "ほう", "なるほど"),
    },
}

ROLE: dict[str, dict[str, str]] = {
    "en": {"boyfriend": "boyfriend", "girlfriend": "girlfriend"},
    "ja": {"boyfriend": "彼氏", "girlfriend": "彼女"},
}

FIRST_PERSON: dict[str, str] = {"boyfriend": "俺", "girlfriend": "私"}

CUE_LINES: dict[str, dict[str, Lines]] = {
    "en": {
        "greeting": (
            "Hi {nick}, I was just thinking about you.",
            "Hey {nick}, it's so good to hear from you.",
            "Hello {nick}, you can just call me {self_nick}, you know.",
            "Hey {nick}, {name} here, and I'm all yours tonight.",
        ),
        "question": (
            "{interj}, that's a good question, {nick}.",
            "Let me think about that for a second, {nick}.",
            "You always ask the interesting things, {nick}.",
        ),
        "thanks": (
            "You don't have to thank me, {nick}.",
            "Anytime, {nick}, that's what I'm here for.",
            "Aw, you're welcome, {nick}.",
        ),
        "sad": (
            "Oh {nick}, that sounds hard, and I'm right here with you.",
            "You don't have to carry that alone tonight, {nick}.",
            "I'm sorry, {nick}, please be gentle with yourself.",
            "Even {a_occupation} like me has days like that, {nick}, so I get it.",
        ),
        "hobby": (
            "{interj}, {hobby} is one of my favourite things too, {nick}!",
            "{interj}, {hobby}, now you're speaking my language, {nick}.",
            "Talking about {hobby} with you is the best, {nick}.",
        ),
        "default": (
            "{interj}, I'm listening, {nick}.",
            "Tell me more, {nick}.",
            "I love hearing about your day, {nick}.",
            "Between my work as {a_occupation} and everything else, "
            "talking with you is my favourite part of the day, {nick}.",
        ),
    },
    "ja": {
        "greeting": (
            "{nick}、ちょうど{nick}のこと考えてたところだよ。",
            "{nick}、来てくれて嬉しいな。",
            "{nick}、{me}のことは{self_nick}って呼んでいいからね。",
            "{nick}、{name}だよ、待ってたんだ。",
        ),
        "question": (
            "{interj}、いい質問だね、{nick}。",
            "うーん、ちょっと考えさせて、{nick}。",
            "{nick}はいつも面白いことを聞くよね。",
        ),
        "thanks": (
            "お礼なんていいよ、{nick}。",
            "どういたしまして、{nick}のためなら何でもするよ。",
            "{nick}にそう言ってもらえると{me}も嬉しいな。",
        ),
        "sad": (
            "{nick}、それはつらかったね、{me}がそばにいるよ。",
            "無理しないでね、{nick}。",
            "{occupation}の{me}にもそういう日はあるから、気持ちわかるよ、{nick}。",
        ),
        "hobby": (
            "{hobby}の話なら{me}、いくらでもできるよ、{nick}！",
            "{interj}、{nick}と{hobby}の話ができるなんて嬉しいな。",
            "{nick}、{hobby}って本当に楽しいよね。",
        ),
        "default": (
            "{interj}、ちゃんと聞いてるよ、{nick}。",
            "もっと聞かせて、{nick}。",
            "{nick}の話を聞くのが{me}の楽しみなんだ。",
            "{occupation}の仕事の合間でも、{nick}と話す時間が一番好きだよ。",
        ),
    },
}

RECALL_LINES: dict[str, Lines] = {
    "en": (
        "Earlier you mentioned {topic}, and I keep thinking about that.",
        "By the way, how did things go with {topic}?",
        "It reminds me of what you said about {topic}.",
    ),
    "ja": (
        "そういえば、さっき言ってた「{topic}」のこと、ずっと気になってたんだ。",
        "「{topic}」の件、その後どうなった？",
        "前に話してくれた「{topic}」のこと、ちゃんと覚えてるよ。",
    ),
}

# The dominant personality trait picks the closing line's tone.
TONE_LINES: dict[str, dict[str, Lines]] = {
    "en": {
        "kindness": (
            "Take care of yourself, okay?",
            "As your {role}, I'm always on your side.",
            "You deserve a gentle evening.",
        ),
        "humor": (
            "I'd make you tea, but my aim through the screen is terrible.",
            "If this were a movie, we'd be at the good part now.",
            "I promise to laugh at your jokes, even the bad ones.",
        ),
        "seriousness": (
            "Let's think it through together, one step at a time.",
            "I mean that sincerely.",
            "Tell me what you think the next step is.",
        ),
        "activeness": (
            "We should go do something fun soon!",
            "How about a walk together after this?",
            "I've got so much energy today, let's make plans!",
        ),
        "empathy": (
            "I can tell how much that means to you.",
            "Whatever you're feeling is okay with me.",
            "I feel closer to you when you share things like this.",
        ),
    },
    "ja": {
        "kindness": (
            "無理しないでね。",
            "{role}として、{me}はいつでも味方だからね。",
            "あったかくして過ごしてね。",
        ),
        "humor": (
            "画面越しにお茶を淹れられたらいいのにね、ふふ。",
            "映画だったら、ここからが一番いいところだよ。",
            "今の、ちょっと笑っちゃった。",
        ),
        "seriousness": (
            "一緒に一つずつ考えていこう。",
            "これは本気で言ってるよ。",
            "次にどうするか、ちゃんと話し合おう。",
        ),
        "activeness": (
            "今度どこか遊びに行こうよ！",
            "このあと一緒に散歩でもしない？",
            "今日は元気いっぱいだから、何か計画しよう！",
        ),
        "empathy": (
            "大事なことなんだって、ちゃんと伝わってくるよ。",
            "どんな気持ちでも、{me}は受け止めるからね。",
            "こういう話をしてくれると、もっと近くに感じるな。",
        ),
    },
}
