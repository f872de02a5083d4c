"""The offline responder's lines for the ends of a relationship, in English and Japanese.

Pools here replace `offline_lines.CUE_LINES` (and its tone, gentle, question and
recall pools) where they have one: `POLITE_*` at relationship levels 1-2
(reserved in English, です/ます in Japanese), `CLOSE_*` at levels 7-10
(familiar and affectionate). Same placeholders, one sentence per template.
"""

from __future__ import annotations

from companion.adapters.llm.offline_lines import Lines

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
    "en": {
        "kindness": (
            "Please take care of yourself.",
            "I hope the rest of your day is kind to you.",
        ),
        "humor": (
            "I'd offer you tea, but the screen makes that a little tricky.",
            "You have a way of making me smile, you know.",
        ),
        "seriousness": ("I'm glad we can talk like this.", "I mean that sincerely."),
        "activeness": (
            "Maybe we could plan something fun sometime.",
            "I'd love to hear what you get up to next!",
        ),
        "empathy": ("I can tell that matters to you.", "Thank you for trusting me with it."),
    },
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
