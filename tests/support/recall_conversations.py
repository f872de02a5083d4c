"""Synthetic long conversations for memory recall, from a seeded script.

Each conversation is a user's side of several hundred turns in English or
Japanese: small talk, distracting facts (likes, plans, other people and pets,
which the rules also remember), a few *planted* facts at known turns, and,
at least `min_gap` turns later, a question about each planted fact, worded
differently from the statement. The same seed gives the same conversations,
message ids and times, so recall figures compare across versions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

NAMESPACE = UUID("0b6c4b1e-2f55-4f0e-9d43-6a7d9a3f1c10")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TURN_GAP = timedelta(minutes=9)
"""Turns every 9 minutes: 400 turns span about two and a half days."""


@dataclass(frozen=True)
class Turn:
    number: int
    message_id: UUID
    text: str
    at: datetime
    question_of: int | None = None
    """For a question: the turn number of the planted fact it asks about."""
    paraphrase: bool = False
    """A question that shares no word with its fact (reported apart: no lexical match)."""


@dataclass(frozen=True)
class Conversation:
    language: str
    seed: int
    turns: tuple[Turn, ...]

    @property
    def questions(self) -> list[Turn]:
        """The questions that share a word or a tag with their fact."""
        return [t for t in self.turns if t.question_of is not None and not t.paraphrase]

    @property
    def paraphrases(self) -> list[Turn]:
        return [t for t in self.turns if t.paraphrase]


# -- vocabulary ----------------------------------------------------------------------------

EN_NAMES = [
    "Mochi", "Luna", "Biscuit", "Pepper", "Kenji", "Hana", "Oliver", "Maya", "Tofu", "Ziggy",
    "Nori", "Basil", "Juniper", "Rocco", "Sakura", "Milo", "Clover", "Yuki", "Pickle", "Daisy",
]  # fmt: skip
JA_NAMES = [
    "モチ", "タマ", "ポチ", "ハナコ", "ケンジ", "ユキ", "ソラ", "コタロウ", "ミケ", "チョコ",
    "サクラ", "ハル", "レオ", "モモ", "リン", "マル", "コハク", "ココア", "アオイ", "ナナ",
]  # fmt: skip
EN_PETS = ["cat", "dog", "hamster", "rabbit", "parrot", "turtle"]
JA_PETS = ["猫", "犬", "ハムスター", "うさぎ", "インコ", "亀"]
JA_PET_SPELLINGS = {"猫": ["猫", "ねこ", "ネコ"], "犬": ["犬", "いぬ", "ワンちゃん"]}
EN_PEOPLE = ["sister", "brother", "best friend", "boss", "mom", "dad", "coworker", "roommate"]
JA_PEOPLE = ["姉", "兄", "親友", "上司", "母", "父", "同僚", "妹"]
EN_THINGS = [
    "spicy ramen", "jazz", "horror movies", "rainy days", "hiking", "board games", "green tea",
    "karaoke", "anime", "camping", "sushi", "video games", "baking bread", "old cameras",
    "cold brew coffee", "chess", "tennis", "pottery", "sci-fi novels", "strawberry cake",
]  # fmt: skip
JA_THINGS = [
    "ラーメン", "ジャズ", "ホラー映画", "雨の日", "登山", "ボードゲーム", "緑茶", "カラオケ",
    "アニメ", "キャンプ", "お寿司", "ゲーム", "パン作り", "古いカメラ", "コーヒー", "将棋",
    "テニス", "陶芸", "SF小説", "いちごのケーキ",
]  # fmt: skip
EN_JOBS = ["nurse", "teacher", "software engineer", "chef", "designer", "pharmacist", "barista"]
JA_JOBS = ["看護師", "教師", "エンジニア", "料理人", "デザイナー", "薬剤師", "美容師"]
EN_CITIES = ["Osaka", "Sapporo", "Kyoto", "Fukuoka", "Nagoya", "Sendai", "Kobe", "Yokohama"]
JA_CITIES = ["大阪", "札幌", "京都", "福岡", "名古屋", "仙台", "神戸", "横浜"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
EN_ACTIVITIES = [
    "visit my grandma", "go to the dentist", "see a concert", "clean my room", "go shopping",
    "watch a movie with friends", "try a new cafe", "go to the gym",
]  # fmt: skip
JA_ACTIVITIES = ["歯医者", "買い物", "映画", "ジム", "カフェ", "実家", "美容院", "コンサート"]

EN_SMALL_TALK = [
    "How was your day?", "I'm a bit tired today.", "Haha, that's funny.", "What are you doing?",
    "The weather is nice today.", "I just got home.", "Work was long today.",
    "Tell me something interesting.", "I had a weird dream last night.", "Good morning!",
    "I'm eating lunch now.", "It's so cold outside.", "Thanks for listening.", "I missed you.",
    "What should I have for dinner?", "I watched a funny video earlier.", "Goodnight!",
    "I can't sleep.", "The train was crowded this morning.", "Do you like music?",
    "I think I'll take a walk.", "My phone battery is dying.", "That sounds lovely.",
    "I'm bored.", "What do you think about rain?", "Let's talk about something fun.",
]  # fmt: skip
JA_SMALL_TALK = [
    "今日はどうだった？", "ちょっと疲れたな。", "それ面白いね。", "今何してるの？",
    "今日はいい天気だね。", "今帰ってきたよ。", "今日は仕事が長かった。", "何か面白い話して。",
    "昨日変な夢を見た。", "おはよう！", "今お昼ご飯を食べてる。", "外がすごく寒い。",
    "聞いてくれてありがとう。", "会いたかったよ。", "晩ご飯何にしようかな。",
    "さっき面白い動画を見た。", "おやすみ！", "眠れないんだ。", "今朝の電車は混んでた。",
    "音楽は好き？", "ちょっと散歩しようかな。", "スマホの充電が切れそう。", "素敵だね。",
    "暇だなあ。", "雨についてどう思う？", "何か楽しい話をしよう。",
]  # fmt: skip


PARAPHRASES = {
    "en": {
        "pet": "Who's the furry one waiting for me at home?",
        "birthday": "When do I turn a year older?",
        "job": "How do I pay the bills?",
        "home": "Which part of Japan am I in?",
    },
    "ja": {
        "pet": "家で待ってるあの子、なんて呼んでたっけ？",
        "birthday": "私が一つ年を取るのはいつ？",
        "job": "私って普段何して稼いでるんだっけ？",
        "home": "私って日本のどのあたりにいるんだっけ？",
    },
}
"""Questions about a planted fact in words it does not use: what lexical retrieval cannot find."""


@dataclass(frozen=True)
class Plant:
    statement: str
    question: str


def _plants_en(rng: random.Random) -> list[tuple[str, Plant]]:
    """(key, plant) choices for one conversation: each key is planted at most once."""
    pet, other_pet = rng.sample(EN_PETS, 2)
    name = rng.choice(EN_NAMES)
    person = rng.choice(EN_PEOPLE)
    person_name = rng.choice([n for n in EN_NAMES if n != name])
    thing = rng.choice(EN_THINGS)
    job, city = rng.choice(EN_JOBS), rng.choice(EN_CITIES)
    month, day = rng.choice(EN_MONTHS), rng.randint(1, 28)
    return [
        (
            f"pet:{pet}",
            Plant(
                rng.choice(
                    [
                        f"My {pet} is called {name}.",
                        f"I have a {pet} named {name}!",
                        f"Oh, my {pet}'s name is {name}, by the way.",
                    ]
                ),
                rng.choice(
                    [
                        f"Do you remember my {pet}'s name?",
                        "What's my pet's name again?",
                        f"What was my {pet} called again?",
                        f"Do you still remember what my {pet} is called?",
                    ]
                ),
            ),
        ),
        (
            f"person:{person}",
            Plant(
                rng.choice(
                    [
                        f"My {person} is called {person_name}.",
                        f"My {person}'s name is {person_name}.",
                    ]
                ),
                rng.choice(
                    [
                        f"What's my {person}'s name again?",
                        f"Do you remember my {person}'s name?",
                        f"Who's my {person}, remember?",
                    ]
                ),
            ),
        ),
        (
            "birthday",
            Plant(
                rng.choice(
                    [
                        f"My birthday is {month} {day}.",
                        f"By the way, my birthday is on {month} {day}!",
                    ]
                ),
                rng.choice(
                    ["When is my birthday?", "Do you remember my birthday?", "When was I born?"]
                ),
            ),
        ),
        (
            f"taste:{thing}",
            Plant(
                rng.choice([f"I really love {thing}.", f"I absolutely adore {thing}!"]),
                rng.choice(
                    [
                        f"Do you remember what I told you about {thing}?",
                        f"How do I feel about {thing}?",
                    ]
                ),
            ),
        ),
        (
            "job",
            Plant(
                rng.choice([f"I work as a {job}.", f"My job is {job}."]),
                rng.choice(
                    [
                        "Do you remember what my job is?",
                        "What do I do for work?",
                        "What do I do for a living?",
                    ]
                ),
            ),
        ),
        (
            "home",
            Plant(
                f"I live in {city}.",
                rng.choice(["Do you remember where I live?", "Which city do I live in?"]),
            ),
        ),
        ("other-pet", Plant(f"I also have a {other_pet}.", "")),
    ]


def _plants_ja(rng: random.Random) -> list[tuple[str, Plant]]:
    pet = rng.choice(JA_PETS)
    name = rng.choice(JA_NAMES)
    person = rng.choice(JA_PEOPLE)
    person_name = rng.choice([n for n in JA_NAMES if n != name])
    thing = rng.choice(JA_THINGS)
    job, city = rng.choice(JA_JOBS), rng.choice(JA_CITIES)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    asked_pet = rng.choice(JA_PET_SPELLINGS.get(pet, [pet]))
    return [
        (
            f"pet:{pet}",
            Plant(
                rng.choice(
                    [
                        f"うちの{pet}の名前は{name}です。",
                        f"{name}という{pet}を飼っています。",
                        f"{pet}を飼ってて、名前は{name}っていうの。",
                    ]
                ),
                rng.choice(
                    [
                        f"{asked_pet}の名前、覚えてる？",
                        "ペットの名前覚えてる？",
                        f"うちの{asked_pet}の名前なんだっけ？",
                        f"私の{asked_pet}の名前、まだ覚えてる？",
                    ]
                ),
            ),
        ),
        (
            f"person:{person}",
            Plant(
                rng.choice(
                    [f"{person}の名前は{person_name}だよ。", f"{person_name}って{person}がいるの。"]
                ),
                rng.choice([f"{person}の名前覚えてる？", f"私の{person}の名前、なんだっけ？"]),
            ),
        ),
        (
            "birthday",
            Plant(
                rng.choice(
                    [f"誕生日は{month}月{day}日だよ。", f"実は私の誕生日は{month}月{day}日なんだ。"]
                ),
                rng.choice(
                    ["私の誕生日いつだっけ？", "誕生日覚えてる？", "私が生まれた日、覚えてる？"]
                ),
            ),
        ),
        (
            f"taste:{thing}",
            Plant(
                rng.choice([f"{thing}が大好き！", f"私は{thing}が好きなんだ。"]),
                rng.choice(
                    [f"私が{thing}のことどう思ってるか覚えてる？", f"{thing}の話、覚えてる？"]
                ),
            ),
        ),
        (
            "job",
            Plant(
                rng.choice([f"{job}として働いています。", f"仕事は{job}です。"]),
                rng.choice(
                    [
                        "私の仕事、覚えてる？",
                        "私って何の仕事してるんだっけ？",
                        "私の職業、知ってる？",
                    ]
                ),
            ),
        ),
        (
            "home",
            Plant(
                f"{city}に住んでいます。",
                rng.choice(["私がどこに住んでるか覚えてる？", "私の住んでる所、覚えてる？"]),
            ),
        ),
    ]


def _distractor_en(rng: random.Random, taken: set[str]) -> str | None:
    """A fact the rules also remember, on a key no planted fact uses."""
    choice = rng.randrange(6)
    if choice == 0:
        thing = rng.choice(EN_THINGS)
        if f"taste:{thing}" in taken:
            return None
        return rng.choice([f"I like {thing}.", f"I don't like {thing} much.", f"I enjoy {thing}."])
    if choice == 1:
        when = rng.choice(["tomorrow", "next week", "this weekend", "on Friday"])
        return f"I'm going to {rng.choice(EN_ACTIVITIES)} {when}."
    if choice == 2:
        person = rng.choice(EN_PEOPLE)
        if f"person:{person}" in taken:
            return None
        return f"My {person} {rng.choice(['called me today', 'is so busy', 'made dinner'])}."
    if choice == 3:
        return rng.choice(
            [
                "I have an exam next month, I'm nervous.",
                "I have a job interview soon.",
                "I think I'm getting sick.",
                "My friend got a new job!",
            ]
        )
    if choice == 4:
        pet = rng.choice(EN_PETS)
        return f"I saw a cute {pet} on the way home." if f"pet:{pet}" in taken else None
    what = rng.choice(["color", "season", "snack"])
    return f"My favourite {what} is {rng.choice(['blue', 'autumn', 'chips', 'green'])}."


def _distractor_ja(rng: random.Random, taken: set[str]) -> str | None:
    choice = rng.randrange(5)
    if choice == 0:
        thing = rng.choice(JA_THINGS)
        if f"taste:{thing}" in taken:
            return None
        return rng.choice([f"{thing}も好きだよ。", f"{thing}はちょっと苦手。"])
    if choice == 1:
        when = rng.choice(["明日", "来週", "週末", "金曜日"])
        return f"{when}は{rng.choice(JA_ACTIVITIES)}に行く予定。"
    if choice == 2:
        return rng.choice(
            [
                "来月試験があるんだ。",
                "面接がもうすぐなんだ。",
                "ちょっと風邪気味かも。",
                "友達が転職したんだって。",
            ]
        )
    if choice == 3:
        pet = rng.choice(JA_PETS)
        return None if f"pet:{pet}" in taken else f"帰り道にかわいい{pet}を見たよ。"
    person = rng.choice(JA_PEOPLE)
    return None if f"person:{person}" in taken else f"{person}が今日電話してきた。"


def conversation(language: str, seed: int, *, turns: int = 400, min_gap: int = 200) -> Conversation:
    """One user's side of a conversation with planted facts and questions about them."""
    if turns < min_gap + 20:
        raise ValueError("a conversation needs room for the gap between a fact and its question")
    rng = random.Random(f"{language}:{seed}")
    plants = _plants_en(rng) if language == "en" else _plants_ja(rng)
    taken = {key for key, _ in plants}
    small_talk = EN_SMALL_TALK if language == "en" else JA_SMALL_TALK
    distractor = _distractor_en if language == "en" else _distractor_ja
    # Facts planted in the first part, each asked min_gap turns or more later.
    latest_plant = turns - min_gap - 1
    plant_turns = sorted(rng.sample(range(5, latest_plant), len(plants)))
    texts: dict[int, tuple[str, int | None]] = {}
    for (_, plant), at in zip(plants, plant_turns, strict=True):
        texts[at] = (plant.statement, None)
        if plant.question:
            asked = rng.randrange(at + min_gap, turns)
            while asked in texts:
                asked = asked + 1 if asked + 1 < turns else at + min_gap
            texts[asked] = (plant.question, at)
    made: list[Turn] = []
    for number in range(turns):
        planted = texts.get(number)
        text, question_of = planted if planted is not None else (None, None)
        if text is None and rng.random() < 0.35:
            text = distractor(rng, taken)
        if text is None:
            text = rng.choice(small_talk)
        made.append(
            Turn(
                number=number,
                message_id=uuid5(NAMESPACE, f"{language}:{seed}:{number}"),
                text=text,
                at=START + TURN_GAP * number,
                question_of=question_of,
            )
        )
    # Paraphrases replace small talk after the gap, drawn apart so that the rest of
    # the conversation is the same with or without them.
    chooser = random.Random(f"{language}:{seed}:paraphrase")
    for (key, _), at in zip(plants, plant_turns, strict=True):
        paraphrase = PARAPHRASES[language].get(key.split(":")[0])
        free = [t.number for t in made[at + min_gap :] if t.number not in texts]
        free = [n for n in free if made[n].text in small_talk]
        if paraphrase and free:
            number = chooser.choice(free)
            texts[number] = (paraphrase, at)
            made[number] = replace(made[number], text=paraphrase, question_of=at, paraphrase=True)
    return Conversation(language, seed, tuple(made))


def conversations(
    count: int, *, turns: int = 400, min_gap: int = 200, seed: int = 16
) -> list[Conversation]:
    """`count` conversations in each language."""
    return [
        conversation(language, seed * 1000 + n, turns=turns, min_gap=min_gap)
        for language in ("en", "ja")
        for n in range(count)
    ]
