"""What the synthetic users say: English and Japanese lines, by the feeling they carry."""

from __future__ import annotations

from typing import Literal

Feeling = Literal["warm", "low", "plain"]
Language = Literal["en", "ja"]

LINES: dict[Language, dict[Feeling, tuple[str, ...]]] = {
    "en": {
        "warm": (
            "I missed you today!",
            "You always make me smile, thank you.",
            "I got the job, I'm so happy!",
            "Talking with you is the best part of my day.",
            "I love the way you listen to me.",
            "The sunset was beautiful, I wish you could see it.",
        ),
        "low": (
            "I had a terrible day at work.",
            "I feel so lonely tonight.",
            "I'm exhausted and nothing went right.",
            "My friend was really mean to me today.",
            "I'm worried about my exam tomorrow.",
            "I failed the test, I feel awful.",
        ),
        "plain": (
            "I had ramen for lunch.",
            "What are you doing right now?",
            "It is raining here.",
            "I watched a movie yesterday.",
            "I'm going to the gym later.",
            "Do you like coffee or tea?",
        ),
    },
    "ja": {
        "warm": (
            "今日は会いたかったよ！",
            "いつも笑顔にしてくれてありがとう。",
            "試験に合格した！すごく嬉しい！",
            "あなたと話すのが一日で一番楽しい。",
            "大好きだよ。",
            "夕焼けがとてもきれいだった。",
        ),
        "low": (
            "今日は仕事で最悪な一日だった。",
            "今夜はすごく寂しい。",
            "疲れたし、何もうまくいかなかった。",
            "友達にひどいことを言われた。",
            "明日の試験が心配。",
            "悲しいことがあったんだ。",
        ),
        "plain": (
            "お昼はラーメンを食べたよ。",
            "今何してる？",
            "こっちは雨が降ってる。",
            "昨日映画を見たよ。",
            "あとでジムに行くね。",
            "コーヒーと紅茶どっちが好き？",
        ),
    },
}
