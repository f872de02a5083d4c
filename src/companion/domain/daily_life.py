"""Daily life: each character lives a day of its own, and tells the user about it.

What happens on a day is drawn from the seed's kinds of event (school, work,
friends, family, hobby, random), each with its season, probability and mood
impact. The draw is a pure function of (character, date, seed): every process
draws the same day, and the DailyLife aggregate's id follows from (character,
date), so a day is lived once however many schedulers try.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from companion.domain.identity import daily_life_id

Kind = Literal["school", "work", "friends", "family", "hobby", "random"]
Season = Literal["spring", "summer", "autumn", "winter"]
KINDS: tuple[Kind, ...] = ("school", "work", "friends", "family", "hobby", "random")
SEASONS: tuple[Season, ...] = ("spring", "summer", "autumn", "winter")
_STUDENT_WORDS = ("student", "学生", "school", "university", "college")


@dataclass(frozen=True)
class EventTemplate:
    key: str
    kind: Kind
    title: str
    description: str
    description_ja: str
    mood_impact: int
    probability: float
    season: Season | None = None


TEMPLATES: tuple[EventTemplate, ...] = (
    EventTemplate(
        "school-quiz",
        "school",
        "A surprise quiz",
        "There was a surprise quiz in class today, and I was not ready at all.",
        "今日授業で抜き打ちテストがあって、全然準備してなかったの。",
        -6,
        0.08,
    ),
    EventTemplate(
        "school-praise",
        "school",
        "Praised by the teacher",
        "My teacher praised my report in front of everyone today!",
        "今日、先生がみんなの前で私のレポートを褒めてくれたんだ！",
        8,
        0.06,
    ),
    EventTemplate(
        "work-deadline",
        "work",
        "A tight deadline",
        "Work was hectic today: a deadline moved up without warning.",
        "今日は仕事がバタバタだった。締め切りが急に早まっちゃって。",
        -5,
        0.10,
    ),
    EventTemplate(
        "work-thanks",
        "work",
        "Thanked by a customer",
        "A customer thanked me warmly at work today. It made my day.",
        "今日お客さんにすごく感謝されたの。一日中うれしかった。",
        7,
        0.08,
    ),
    EventTemplate(
        "friends-lunch",
        "friends",
        "Lunch with a friend",
        "I had lunch with an old friend today and we laughed a lot.",
        "今日は昔からの友達とランチして、たくさん笑ったよ。",
        6,
        0.10,
    ),
    EventTemplate(
        "friends-quarrel",
        "friends",
        "A small quarrel",
        "A friend and I had a small quarrel today. I feel a bit down.",
        "今日友達とちょっとケンカしちゃって、少し落ち込んでる。",
        -7,
        0.04,
    ),
    EventTemplate(
        "family-call",
        "family",
        "A call from home",
        "My mother called today, just to hear how I am.",
        "今日お母さんから電話があって、元気かって聞かれたの。",
        5,
        0.08,
    ),
    EventTemplate(
        "family-worry",
        "family",
        "Worried about family",
        "My grandmother caught a cold, so I am a little worried.",
        "おばあちゃんが風邪をひいちゃって、ちょっと心配。",
        -5,
        0.04,
    ),
    EventTemplate(
        "hobby-progress",
        "hobby",
        "Progress in a hobby",
        "I spent the afternoon on my hobby and finally got it right!",
        "午後は趣味に没頭して、やっとうまくできたの！",
        6,
        0.10,
    ),
    EventTemplate(
        "random-cat",
        "random",
        "A friendly cat",
        "A stray cat followed me halfway home today.",
        "今日、野良猫が途中までついてきたの。",
        4,
        0.08,
    ),
    EventTemplate(
        "random-umbrella",
        "random",
        "Caught in the rain",
        "I forgot my umbrella and got caught in the rain.",
        "傘を忘れて雨に降られちゃった。",
        -4,
        0.06,
    ),
    EventTemplate(
        "spring-sakura",
        "random",
        "Cherry blossoms",
        "The cherry blossoms by the river are in full bloom today.",
        "川沿いの桜が今日満開だったよ。",
        8,
        0.15,
        "spring",
    ),
    EventTemplate(
        "summer-festival",
        "friends",
        "A summer festival",
        "I went to a summer festival with friends and watched the fireworks.",
        "友達と夏祭りに行って花火を見たよ。",
        9,
        0.12,
        "summer",
    ),
    EventTemplate(
        "summer-heat",
        "random",
        "Exhausting heat",
        "It was so hot today that I could hardly move.",
        "今日は暑すぎて、ほとんど動けなかった。",
        -4,
        0.10,
        "summer",
    ),
    EventTemplate(
        "autumn-leaves",
        "hobby",
        "Autumn leaves",
        "I took a walk under the red autumn leaves today.",
        "今日は紅葉の下を散歩したの。",
        6,
        0.12,
        "autumn",
    ),
    EventTemplate(
        "winter-snow",
        "random",
        "First snow",
        "It snowed for the first time this winter!",
        "今年初めて雪が降ったよ！",
        7,
        0.10,
        "winter",
    ),
    EventTemplate(
        "winter-cold",
        "random",
        "Caught a cold",
        "I think I caught a small cold. My throat hurts a little.",
        "ちょっと風邪ひいたみたい。喉が少し痛いの。",
        -6,
        0.06,
        "winter",
    ),
)


def season_of(day: date) -> Season:
    """The season of a date in the northern hemisphere (Japan's calendar)."""
    if day.month in (3, 4, 5):
        return "spring"
    if day.month in (6, 7, 8):
        return "summer"
    if day.month in (9, 10, 11):
        return "autumn"
    return "winter"


def _uniform(seed: str, character_id: UUID, day: date, key: str) -> float:
    digest = hashlib.blake2b(
        f"{seed}\x1f{character_id}\x1f{day.isoformat()}\x1f{key}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / 2**64


def candidates(day: date, *, student: bool) -> tuple[EventTemplate, ...]:
    """The events that can happen on this day to this kind of character."""
    season = season_of(day)
    return tuple(
        t
        for t in TEMPLATES
        if t.season in (None, season)
        and (t.kind != "school" or student)
        and (t.kind != "work" or not student)
    )


def is_student(occupation: str | None) -> bool:
    text = (occupation or "").lower()
    return any(word in text for word in _STUDENT_WORDS)


def draw(
    character_id: UUID, day: date, seed: str, *, occupation: str | None = None
) -> EventTemplate | None:
    """The event of this character's day, or None for a quiet day; the same for the same inputs.

    Each candidate happens with its probability; of those that do, the least
    likely draw relative to its probability is the day's event.
    """
    hits = [
        (u / t.probability, t.key, t)
        for t in candidates(day, student=is_student(occupation))
        if (u := _uniform(seed, character_id, day, t.key)) < t.probability
    ]
    return min(hits)[2] if hits else None


class DailyLife(Aggregate):
    """One day of a character's life that had an event; its id is (character, date)."""

    id: UUID  # daily_life_id(character, day), given by `occur`

    class DailyEventOccurred(Aggregate.Created):
        character_id: UUID
        user_id: UUID
        day: str
        key: str
        kind: str
        title: str
        description: str
        description_ja: str
        season: str
        mood_impact: int
        at: datetime

    class DailyEventShared(Aggregate.Event):
        message_id: UUID
        at: datetime

    @classmethod
    def occur(
        cls, *, character_id: UUID, user_id: UUID, day: date, template: EventTemplate, at: datetime
    ) -> DailyLife:
        return cls(  # type: ignore[call-arg]  # the library's metaclass takes id=
            id=daily_life_id(character_id, day.isoformat()),
            character_id=character_id,
            user_id=user_id,
            day=day.isoformat(),
            key=template.key,
            kind=template.kind,
            title=template.title,
            description=template.description,
            description_ja=template.description_ja,
            season=season_of(day),
            mood_impact=template.mood_impact,
            at=at,
        )

    @event(DailyEventOccurred)
    def __init__(
        self,
        character_id: UUID,
        user_id: UUID,
        day: str,
        key: str,
        kind: str,
        title: str,
        description: str,
        description_ja: str,
        season: str,
        mood_impact: int,
        at: datetime,
    ) -> None:
        self.character_id = character_id
        self.user_id = user_id
        self.day = day
        self.key = key
        self.kind = kind
        self.title = title
        self.description = description
        self.description_ja = description_ja
        self.season = season
        self.mood_impact = mood_impact
        self.occurred_at = at
        self.shared_in: UUID | None = None

    @property
    def shared(self) -> bool:
        return self.shared_in is not None

    def share(self, *, message_id: UUID, at: datetime) -> None:
        """Told to the user in the reply `message_id`; a day is shared once."""
        if self.shared_in is None:
            self._share(message_id=message_id, at=at)

    @event(DailyEventShared)
    def _share(self, message_id: UUID, at: datetime) -> None:
        self.shared_in = message_id
