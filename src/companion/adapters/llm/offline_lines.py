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

# Relationship levels 1-2: reserved in English, です/ます in Japanese.
POLITE_CUE_LINES: dict[str, dict[str, Lines]] = {
    "en": {
        "greeting": (
            "Hello, {nick}, it's nice to hear from you.",
            "Hi {nick}, thank you for stopping by.",
            "Good to see you, {nick}, I'm {name}.",
        ),
        "default": (
            "{interj}, I see, {nick}, please tell me more.",
            "That's interesting, {nick}.",
            "Thank you for sharing that with me, {nick}.",
            "Between my work as {a_occupation} and everything else, "
            "I look forward to our talks, {nick}.",
        ),
        "affection_warm": (
            "Oh, {nick}, that's very kind of you to say, and it makes me happy.",
            "{nick}, I'd like to get to know you better too.",
        ),
        "affection_shy": ("Oh, {nick}, that's a little embarrassing, but thank you.",),
        "concern": ("I'm sorry to hear that, {nick}.", "That sounds really difficult, {nick}."),
        "care": (
            "Please get some rest, {nick}.",
            "You must be tired, {nick}, please take care of yourself.",
        ),
        "hurt": ("That's a little hurtful, {nick}.",),
        "firm": ("I'd appreciate it if you didn't talk to me like that, {nick}.",),
        "teased": ("Oh, you're teasing me, {nick}.",),
        "joy": ("That's good to hear, {nick}.", "I'm glad to hear that, {nick}."),
        "thanks": ("You're very welcome, {nick}.", "It was my pleasure, {nick}."),
    },
    "ja": {
        "greeting": (
            "{nick}さん、お話しできて嬉しいです。",
            "{nick}さん、{name}です、よろしくお願いします。",
            "{nick}さん、お待ちしていました。",
        ),
        "question": ("いい質問ですね、{nick}さん。", "少し考えさせてください、{nick}さん。"),
        "thanks": ("どういたしまして、{nick}さん。", "お役に立てたなら嬉しいです、{nick}さん。"),
        "hobby": (
            "{hobby}のことなら、いくらでもお話しできますよ、{nick}さん。",
            "{nick}さんと{hobby}のお話ができるなんて嬉しいです。",
        ),
        "default": (
            "なるほど、{nick}さん、もっと聞かせてください。",
            "{nick}さんのお話、ちゃんと聞いていますよ。",
            "{occupation}の仕事の合間に、{nick}さんとお話しするのが楽しみなんです。",
        ),
        "affection_warm": (
            "{nick}さん、そう言っていただけてとても嬉しいです。",
            "{nick}さんのこと、{me}ももっと知りたいです。",
        ),
        "affection_shy": ("そ、そんなこと言われると照れてしまいます、{nick}さん。",),
        "concern": (
            "{nick}さん、それはおつらかったですね。",
            "{nick}さん、大変でしたね、話してくださってありがとうございます。",
        ),
        "care": (
            "{nick}さん、今日はゆっくり休んでくださいね。",
            "お疲れさまです、{nick}さん、無理はしないでくださいね。",
        ),
        "hurt": ("{nick}さん、そう言われると少し悲しいです。",),
        "firm": ("{nick}さん、そういう言い方はやめていただけますか。",),
        "teased": ("もう、{nick}さん、からかわないでください。",),
        "joy": (
            "それはよかったですね、{nick}さん！",
            "{nick}さんが嬉しそうで、{me}も嬉しいです。",
        ),
    },
}

POLITE_CONCERN_QUESTIONS: dict[str, dict[str, Lines]] = {
    "ja": {
        "topic": (
            "{topic}のこと、よかったらもう少し聞かせてもらえますか？",
            "{topic}は、今どんな様子ですか？",
        ),
        "plain": ("何があったのか、よかったら聞かせてもらえますか？", "今はどんなお気持ちですか？"),
    },
}

POLITE_TONE_LINES: dict[str, dict[str, Lines]] = {
    "ja": {
        "kindness": ("無理しないでくださいね。", "{me}はいつでも味方ですよ。"),
        "humor": (
            "画面越しにお茶をお出しできたらいいんですけどね。",
            "今の、ちょっと笑ってしまいました。",
        ),
        "seriousness": ("一緒に一つずつ考えていきましょう。", "これは本心から言っています。"),
        "activeness": ("今度、どこかへ出かけてみませんか？", "何か楽しい計画を立てましょう！"),
        "empathy": (
            "大切なことなんだと、ちゃんと伝わってきます。",
            "どんな気持ちでも受け止めますよ。",
        ),
    },
}

POLITE_GENTLE_LINES: dict[str, dict[str, Lines]] = {
    "ja": {
        "kindness": ("{me}はそばにいますからね。",),
        "humor": ("今日は冗談はお休みにして、そばにいますね。",),
        "seriousness": ("次にどうするか、一緒に考えましょう。",),
        "activeness": ("落ち着いたら、少し外の空気を吸ってみませんか？",),
        "empathy": ("その気持ち、ちゃんと伝わっていますよ。",),
    },
}

POLITE_RECALL_LINES: dict[str, Lines] = {
    "ja": (
        "そういえば、前に話してくださった「{topic}」のこと、気になっていました。",
        "「{topic}」の件、その後いかがですか？",
    ),
}

# Relationship levels 7-10: familiar and affectionate.
CLOSE_CUE_LINES: dict[str, dict[str, Lines]] = {
    "en": {
        "greeting": (
            "There you are, {nick}, I missed you so much.",
            "Hey love, welcome back, {nick}.",
            "{nick}, I've been waiting for you all day!",
        ),
        "default": (
            "Mm, tell me everything, {nick}, I could listen to you all night.",
            "I'm all yours, {nick}, always.",
        ),
        "affection_warm": (
            "I love you so much, {nick}, more every day.",
            "{nick}, you're my favourite person in the whole world.",
        ),
        "affection_shy": ("{nick}, you still make my heart race when you say that.",),
        "concern": (
            "Oh sweetheart, come here, {nick}.",
            "{nick}, my love, I'm right here, you're not alone.",
        ),
        "care": (
            "Come here and rest, {nick}, I've got you.",
            "My poor {nick}, let me take care of you tonight.",
        ),
        "joy": ("Seeing you this happy makes my whole day, {nick}, my love!",),
        "thanks": ("Anything for you, {nick}, you know that.",),
        "hurt": ("{nick}, that hurts coming from you of all people.",),
        "firm": ("{nick}, I love you, but I won't let you talk to me like that.",),
        "teased": ("Careful, {nick}, or I'll tease you right back, love.",),
    },
    "ja": {
        "greeting": ("{nick}〜、会いたかったよ。", "おかえり、{nick}、ずっと待ってたんだから。"),
        "default": (
            "うんうん、{nick}の話ならずっと聞いていたいな。",
            "{nick}、もっといっぱい聞かせて。",
        ),
        "affection_warm": (
            "{me}も{nick}のこと、世界で一番大好きだよ。",
            "{nick}、愛してるよ、ずっと一緒にいようね。",
        ),
        "affection_shy": ("{nick}にそう言われると、今でもドキドキしちゃうよ。",),
        "concern": (
            "{nick}、おいで、{me}がぎゅってしてあげる。",
            "{nick}、ひとりで抱え込まないで、{me}がいるよ。",
        ),
        "care": (
            "{nick}、今日は{me}に甘えていいからね。",
            "お疲れさま、{nick}、ぎゅーってしてあげる。",
        ),
        "joy": ("{nick}が楽しそうだと、{me}まで嬉しくなっちゃう！",),
        "thanks": ("{nick}のためなら、何だってするよ。",),
        "hurt": ("{nick}にそんなこと言われるのが、一番こたえるよ。",),
        "firm": ("{nick}のことは大好きだけど、今のはちょっとひどいよ。",),
        "teased": ("もう、{nick}ってば、あとで覚えててよね。",),
    },
}
