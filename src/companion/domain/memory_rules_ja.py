"""Memory rules for Japanese messages: 好き and 苦手, names of pets and people (猫の名前は…),
birthdays (誕生日は…), plans (明日, 来週, …), life events (転職, 引っ越し, 試験, …), the user's
job, places and name.

Each rule takes one sentence and the day it was said (to resolve 明日 or 来週)
and yields the facts it finds; their names, "rule:ja_<what>", are the
extractor of the memories they make.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

from companion.domain.memory_facts import (
    PETS,
    Fact,
    birthday,
    day_of_month,
    has_pet,
    next_weekday,
    person,
    pet,
    plan,
    taste,
)

_JA_NAME = r"([ァ-ヶー]{1,12}|[ぁ-ゖ]{2,8}|[一-龥々]{1,6}|[A-Za-z][A-Za-z\-]{0,20})"


_JA_PHRASE = r"([^、。！？!?\s]{1,30}?)"


_JA_TOPIC = re.compile(r"^(?:.*(?:は|も|、|って))?(?:私|僕|俺|わたし|あたし|うち)?(?:の|は)?")


_JA_TRAILING = re.compile(r"(?:のこと|とか|など|なんか|って)$")


def _ja_phrase(raw: str) -> str | None:
    """The object of a Japanese statement: after the topic (…は, …、), before the particle."""
    phrase = _JA_TOPIC.sub("", raw)
    phrase = _JA_TRAILING.sub("", phrase).strip()
    if not phrase or len(phrase) > 20:
        return None
    return phrase


_JA_WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")


def _ja_date(phrase: str) -> str | None:
    if m := re.search(r"(\d{1,2})月(\d{1,2})日", phrase):
        return day_of_month(int(m.group(1)), int(m.group(2)))
    if m := re.search(r"(\d{1,2})/(\d{1,2})", phrase):
        return day_of_month(int(m.group(1)), int(m.group(2)))
    if m := re.search(r"(\d{1,2})日", phrase):
        return day_of_month(None, int(m.group(1)))
    return None


_JA_WHEN = (
    r"(明後日|あさって|明日|あした|今夜|今晩|今日|今週末|週末|来週末|来週|来月|"
    r"([月火水木金土日])曜日?|(\d{1,2})月(\d{1,2})日)"
)


def _ja_when(match: re.Match[str], today: date) -> date:
    when = match.group(1)
    if when in ("今日", "今夜", "今晩"):
        return today
    if when in ("明日", "あした"):
        return today + timedelta(days=1)
    if when in ("明後日", "あさって"):
        return today + timedelta(days=2)
    if when in ("今週末", "週末"):
        return next_weekday(today - timedelta(days=1), 5)
    if when == "来週末":
        return next_weekday(today - timedelta(days=1), 5) + timedelta(days=7)
    if when == "来週":
        return next_weekday(today, 0)
    if when == "来月":
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    if match.group(2):
        return next_weekday(today, _JA_WEEKDAYS.index(match.group(2)))
    month, day = int(match.group(3)), int(match.group(4))
    try:
        planned = date(today.year, month, day)
    except ValueError:
        return today
    return planned if planned >= today else date(today.year + 1, month, day)


_JA_LIKE = re.compile(
    _JA_PHRASE
    + r"(?:が|も|は)(?:一番|とても|すごく|めっちゃ|本当に|超|まあまあ|あまり|あんまり|そんなに)?"
    r"(大好き|好き|嫌い|大嫌い|苦手)(じゃない|ではない|じゃなかった)?"
)
_JA_FAVOURITE = re.compile(
    r"好きな([^はがを、。！？\s]{1,10})は([^、。！？\s]{1,20}?)(?:です|だよ|だ|かな|。|！|$)"
)
_NOT_TASTES = frozenset(
    {"何", "誰", "どれ", "これ", "それ", "あれ", "こと", "あなた", "君", "きみ", "お前", "あんた"}
)


def ja_likes(text: str, today: date) -> Iterator[Fact]:
    if m := _JA_FAVOURITE.search(text):
        what, thing = m.group(1), m.group(2)
        yield Fact(
            "preference",
            ("favourite", what),
            thing,
            f"ユーザーの好きな{what}は{thing}",
            0.6,
            ("favourite", "好き", what),
            "joy",
        )
        return
    for m in _JA_LIKE.finditer(text):
        thing = _ja_phrase(m.group(1))
        if not thing or thing in _NOT_TASTES:
            continue
        positive = m.group(2) in ("大好き", "好き")
        if m.group(3):
            positive = not positive
        if positive:
            yield taste(thing, "likes", f"ユーザーは{thing}が好き", "ja")
        else:
            yield taste(thing, "dislikes", f"ユーザーは{thing}が苦手", "ja")
        return


_JA_PETS = {
    "猫": "cat",
    "ねこ": "cat",
    "ネコ": "cat",
    "子猫": "cat",
    "犬": "dog",
    "いぬ": "dog",
    "イヌ": "dog",
    "ワンちゃん": "dog",
    "子犬": "dog",
    "ハムスター": "hamster",
    "うさぎ": "rabbit",
    "ウサギ": "rabbit",
    "兎": "rabbit",
    "インコ": "bird",
    "鳥": "bird",
    "金魚": "fish",
    "亀": "turtle",
    "カメ": "turtle",
    "フェレット": "ferret",
    "ハリネズミ": "hedgehog",
}


_JA_PET = "(" + "|".join(sorted(_JA_PETS, key=len, reverse=True)) + ")"


_JA_PET_PATTERNS = (
    re.compile(
        _JA_PET + r"の名前は" + _JA_NAME + r"(?:って|だ|です|。|！|、|$|なの|よ|ちゃん|くん)"
    ),
    re.compile(
        _JA_PET
        + r"(?:は|を飼っていて|を飼ってて)、?(?:名前は)?"
        + _JA_NAME
        + r"(?:って(?:いう|言う|名前)|という名前|ちゃん|くん)"
    ),
    re.compile(_JA_NAME + r"(?:って|という)(?:名前の)?" + _JA_PET + r"(?:を|が|と|も)"),
)


_JA_HAS_PET = re.compile(_JA_PET + r"(?:を|も)(?:\d+匹)?飼って(?:いる|る|います|ます|いて|て)")


def ja_pet_name(text: str, today: date) -> Iterator[Fact]:
    for number, pattern in enumerate(_JA_PET_PATTERNS):
        if m := pattern.search(text):
            said, name = (m.group(2), m.group(1)) if number == 2 else (m.group(1), m.group(2))
            species = _JA_PETS[said]
            if name in ("何", "なん", "まだ", "とても", "すごく"):
                return
            yield pet(species, name, f"ユーザーの{PETS.get(species, said)}の名前は{name}")
            return
    if m := _JA_HAS_PET.search(text):
        species = _JA_PETS[m.group(1)]
        yield has_pet(species, f"ユーザーは{PETS.get(species, m.group(1))}を飼っている")


JA_PEOPLE = {
    "母": "mom",
    "お母さん": "mom",
    "ママ": "mom",
    "父": "dad",
    "お父さん": "dad",
    "パパ": "dad",
    "姉": "sister",
    "お姉ちゃん": "sister",
    "妹": "sister",
    "兄": "brother",
    "お兄ちゃん": "brother",
    "弟": "brother",
    "親友": "best friend",
    "友達": "friend",
    "友だち": "friend",
    "上司": "boss",
    "同僚": "coworker",
    "彼女": "girlfriend",
    "彼氏": "boyfriend",
    "妻": "wife",
    "夫": "husband",
    "息子": "son",
    "娘": "daughter",
    "祖母": "grandma",
    "おばあちゃん": "grandma",
    "祖父": "grandpa",
    "おじいちゃん": "grandpa",
    "先生": "teacher",
}


_JA_PERSON = "(" + "|".join(sorted(JA_PEOPLE, key=len, reverse=True)) + ")"


_JA_PERSON_PATTERNS = (
    re.compile(_JA_PERSON + r"の名前は" + _JA_NAME + r"(?:って|だ|です|。|！|、|$|なの|よ)"),
    re.compile(_JA_NAME + r"(?:って|という)(?:名前の)?" + _JA_PERSON + r"(?:が|を|と|は|に)"),
)


def ja_person_name(text: str, today: date) -> Iterator[Fact]:
    for number, pattern in enumerate(_JA_PERSON_PATTERNS):
        if m := pattern.search(text):
            who, name = (m.group(2), m.group(1)) if number == 1 else (m.group(1), m.group(2))
            relation = JA_PEOPLE[who]
            yield person(relation, name, f"ユーザーの{who}の名前は{name}")
            return


_JA_BIRTHDAY = re.compile(r"誕生日(?:は|が)(.{0,12}?日)")
_JA_BIRTHDAY_IS = re.compile(r"(今日|明日)(?:は|が)(?:私の|僕の|俺の)?誕生日")


def ja_birthday(text: str, today: date) -> Iterator[Fact]:
    day: str | None = None
    if m := _JA_BIRTHDAY.search(text):
        day = _ja_date(m.group(1))
    elif m := _JA_BIRTHDAY_IS.search(text):
        when = today + timedelta(days=1 if m.group(1) == "明日" else 0)
        day = f"{when.month:02d}-{when.day:02d}"
    if day is not None:
        said = (
            f"{int(day[:2])}月{int(day[3:])}日" if not day.startswith("--") else f"{int(day[2:])}日"
        )
        yield birthday(day, f"ユーザーの誕生日は{said}")


_JA_PLAN = re.compile(
    _JA_WHEN + r"(?:は|に|の)?、?(.{1,30}?)(?:に行く|へ行く|行く|する|します|予定|つもり|"
    r"があ|がある|なんだ|です|なの|行きます|に行きます)"
)


def ja_plan(text: str, today: date) -> Iterator[Fact]:
    if m := _JA_PLAN.search(text):
        what = m.group(5).strip("、 ")
        what = re.sub(r"^(?:私|僕|俺|わたし)(?:は|も)", "", what)
        what = re.sub(r"^(?:から|に|で|は|も)", "", what)
        if not what or len(what) > 30 or "誕生日" in what:
            return
        day = _ja_when(m, today)
        when = m.group(1)
        yield plan(day, what, f"ユーザーの予定（{day.isoformat()}、{when}）：{what}")


_JA_JOB = (
    re.compile(r"([^、。！？\s]{1,15}?)として働いて"),
    re.compile(r"仕事は([^、。！？\s]{1,15}?)(?:です|だよ|だ|で|。|$|をして|してる)"),
    re.compile(
        r"(?:私|僕|俺|わたし)は([^、。！？\s]{1,10}?(?:師|士|員|者|家|生|手|医|長|"
        r"エンジニア|デザイナー|プログラマー|ナース|シェフ|パティシエ))(?:です|だよ|をして|なんだ|なの)"
    ),
    re.compile(
        r"^([^、。！？\s]{0,8}?(?:師|士|員|家|医|エンジニア|デザイナー|プログラマー|シェフ|"
        r"パティシエ))(?:を|の仕事を)して(?:い|る)"
    ),
    re.compile(
        r"^(?:私は|僕は|俺は)?((?:大学院|大学|高校|専門学校|中学)?生|学生|会社員|主婦|主夫|公務員|"
        r"フリーター|フリーランス|自営業)(?:です|だよ|なんだ|なの|だ|。|$)"
    ),
)


_JA_WORKPLACE = re.compile(r"([^、。！？\s]{1,15}?)で働いて")


def ja_job(text: str, today: date) -> Iterator[Fact]:
    for pattern in _JA_JOB:
        if (m := pattern.search(text)) and (job := _ja_phrase(m.group(1))):
            yield Fact(
                "relationship",
                ("job",),
                job,
                f"ユーザーの仕事は{job}",
                0.7,
                ("job", "仕事", "work", "occupation", "職業", "living", job),
            )
            break
    if (m := _JA_WORKPLACE.search(text)) and (place := _ja_phrase(m.group(1))):
        yield Fact(
            "relationship",
            ("workplace",),
            place,
            f"ユーザーは{place}で働いている",
            0.6,
            ("job", "仕事", "work", "職場"),
        )


_JA_HOME = re.compile(r"([^、。！？\s]{1,15}?)に住んで")


_JA_FROM = re.compile(r"([^、。！？\s]{1,15}?)(?:出身|生まれ|育ち)")


def ja_place(text: str, today: date) -> Iterator[Fact]:
    if (m := _JA_HOME.search(text)) and (place := _ja_phrase(m.group(1))):
        yield Fact(
            "relationship",
            ("home",),
            place,
            f"ユーザーは{place}に住んでいる",
            0.65,
            ("home", "住んでいる", "place", place),
        )
    if (m := _JA_FROM.search(text)) and (place := _ja_phrase(m.group(1))):
        yield Fact(
            "relationship",
            ("hometown",),
            place,
            f"ユーザーは{place}出身",
            0.6,
            ("hometown", "出身", "place", place),
        )


_JA_OWN_NAME = re.compile(
    r"(?:私|僕|俺|わたし)の名前は" + _JA_NAME + r"|" + _JA_NAME + r"って呼んで"
)


def ja_own_name(text: str, today: date) -> Iterator[Fact]:
    if m := _JA_OWN_NAME.search(text):
        name = m.group(1) or m.group(2)
        yield Fact(
            "relationship",
            ("user", "name"),
            name,
            f"ユーザーの名前は{name}",
            0.8,
            ("name", "名前", name),
        )
