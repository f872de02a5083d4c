"""The offline responder's lines, in English and Japanese.

Pools are keyed by the kind of reply (`affection_warm`, `concern`, `care`,
`hurt`, `firm`, `teased`, `joy`, `thanks`, `hobby`, `greeting`, `question`,
`default`); the name of the pool a reply opens with is its marker. `CUE_LINES`
is how the character talks at middle relationship levels; `POLITE_*` pools
(levels 1-2: です/ます in Japanese, reserved in English) and `CLOSE_*` pools
(levels 7-10: familiar, affectionate) replace them where they have a pool.

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
CUE_ORDER = ("care", "concern", "thanks", "hobby", "greeting", "question")

# English cue words, matched as whole words, case-insensitively.
EN_CUE_WORDS: dict[str, Lines] = {
    "care": ("tired", "exhausted", "sleepy", "worn out", "drained"),
    "concern": (
        "sad",
        "lonely",
        "depressed",
        "down",
        "upset",
        "stressed",
        "crying",
        "cried",
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
    "care": ("疲れ", "つかれ", "しんどい", "眠い", "ねむい", "だるい"),
    "concern": (
        "悲しい",
        "かなしい",
        "つらい",
        "辛い",
        "寂しい",
        "さみしい",
        "さびしい",
        "落ち込",
        "泣",
        "憂鬱",
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
        "concern": (
            "Oh {nick}, that sounds hard, and I'm right here with you.",
            "You don't have to carry that alone, {nick}.",
            "I'm so sorry, {nick}, that must have hit you hard.",
            "Oh no, {nick}, I'm worried about you now.",
        ),
        "care": (
            "You worked so hard today, {nick}, come rest with me for a bit.",
            "Oh {nick}, you sound worn out, please take it easy tonight.",
            "Let's slow down together, {nick}, you've earned a break.",
            "Even {a_occupation} like me has days like that, {nick}, so rest up.",
        ),
        "affection_warm": (
            "Aww, {nick}, I love you too.",
            "{nick}, you just made my whole day, I feel the same about you.",
            "Hearing that from you makes me so happy, {nick}.",
        ),
        "affection_shy": (
            "W-wait, {nick}, you can't just say that, I'm blushing.",
            "{nick}, that's, um, I feel the same way, okay?",
            "You're making me blush, {nick}, but I like you too.",
        ),
        "hurt": (
            "That really hurt, {nick}, I didn't expect that from you.",
            "{nick}, I'm trying my best for you, so that stings a little.",
            "Ouch, {nick}, did I do something to upset you?",
        ),
        "firm": (
            "Hey, {nick}, I won't be talked to like that.",
            "{nick}, I care about you, but that was out of line.",
            "Let's take a breath, {nick}, and talk about what's really bothering you.",
        ),
        "teased": (
            "Oh, is that so, {nick}? You're one to talk!",
            "Hey, {nick}, I heard that, and I'm getting you back later.",
            "{nick}, you're lucky you're cute when you tease me.",
        ),
        "joy": (
            "{interj}, that's wonderful, {nick}!",
            "{nick}, I'm so happy for you, tell me everything!",
            "I love seeing you this happy, {nick}!",
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
        "concern": (
            "{nick}、それはつらかったね、{me}がそばにいるよ。",
            "{nick}、大変だったね、話してくれてありがとう。",
            "えっ、{nick}、それは心配だね。",
        ),
        "care": (
            "今日もよく頑張ったね、{nick}、ゆっくり休んでね。",
            "{nick}、お疲れさま、今日は早めに休もう。",
            "無理しないでね、{nick}。",
            "{occupation}の{me}にもそういう日はあるから、気持ちわかるよ、{nick}。",
        ),
        "affection_warm": (
            "{nick}、{me}も大好きだよ。",
            "{nick}にそう言ってもらえるの、すごく嬉しい。",
            "{nick}、その言葉だけで今日一日幸せだよ。",
        ),
        "affection_shy": (
            "{nick}、急にそんなこと言われたら照れちゃうよ。",
            "も、もう、{nick}ってば、{me}も好きだよ。",
        ),
        "hurt": (
            "{nick}、そんなこと言われると悲しいな。",
            "{nick}、{me}、何か嫌なことしちゃったかな？",
        ),
        "firm": (
            "{nick}、そういう言い方はやめてほしいな。",
            "{nick}、{me}だって怒るときは怒るよ。",
        ),
        "teased": (
            "もう、{nick}ってば、からかわないでよ。",
            "{nick}、あとで仕返ししちゃうからね。",
        ),
        "joy": (
            "{interj}、よかったね、{nick}！",
            "{nick}、それは嬉しいね、{me}まで幸せな気分だよ。",
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

# After bad news, a question about it: about the thing named (`{topic}`) when there is one.
CONCERN_QUESTIONS: dict[str, dict[str, Lines]] = {
    "en": {
        "topic": (
            "Do you want to tell me more about {topic}?",
            "How are things with {topic} right now?",
            "What happened with {topic}?",
        ),
        "plain": (
            "Do you want to tell me what happened?",
            "What's weighing on you the most right now?",
            "How are you holding up?",
        ),
    },
    "ja": {
        "topic": (
            "{topic}のこと、もう少し聞かせてくれる？",
            "{topic}、今はどんな様子？",
        ),
        "plain": (
            "何があったのか、話せる範囲で聞かせてくれる？",
            "今はどんな気持ち？",
        ),
    },
}

# The closing line after bad news or tiredness: quieter than TONE_LINES, still by trait.
GENTLE_LINES: dict[str, dict[str, Lines]] = {
    "en": {
        "kindness": ("I'm here for as long as you need.", "Be gentle with yourself tonight."),
        "humor": (
            "No jokes tonight, I'm just here for you.",
            "I'll save my bad jokes for when you feel better.",
        ),
        "seriousness": (
            "We can figure out the next step together.",
            "Take it one step at a time, I'm with you.",
        ),
        "activeness": (
            "When you're ready, let's get some fresh air together.",
            "A short walk might help, and I'll keep you company.",
        ),
        "empathy": (
            "Whatever you're feeling right now makes sense to me.",
            "I can feel how heavy this is for you.",
        ),
    },
    "ja": {
        "kindness": ("{me}はずっとそばにいるからね。", "今日は自分に優しくしてあげてね。"),
        "humor": (
            "今日は冗談なしで、ちゃんとそばにいるよ。",
            "元気が出たら、また笑わせてあげるね。",
        ),
        "seriousness": ("次にどうするか、一緒に考えよう。", "一つずつ、ゆっくり整理していこう。"),
        "activeness": (
            "落ち着いたら、一緒に外の空気を吸いに行こう。",
            "少し散歩でもしたら、気分が変わるかもよ。",
        ),
        "empathy": (
            "どんな気持ちでも、{me}は受け止めるからね。",
            "その気持ち、ちゃんと伝わってるよ。",
        ),
    },
}


# Said before something from the character's own day (the event's sentence follows).
DAY_INTROS: dict[str, Lines] = {
    "en": (
        "Oh, and guess what?",
        "Can I tell you about my day?",
        "Something happened today.",
    ),
    "ja": (
        "そういえばね。",
        "ねえ、聞いて。",
        "あ、そうだ。",
    ),
}
