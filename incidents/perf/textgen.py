"""Deterministic multilingual text for generated cases and sources.

Sentence templates in Kazakh, Russian and English with slots filled from
small vocabularies, so the text has the word frequencies of real case notes:
a few words everywhere ("screen", "экран"), most words now and then, and the
planted RARE_TERM in about one document in two thousand. Everything is drawn
from a ``random.Random`` passed in, so a seed gives the same data every time.
"""

from __future__ import annotations

import random

# Terms the benchmark searches for (recorded in the dataset row).
COMMON_TERM = "screen"
SECOND_TERM = "operator"
RARE_TERM = "tachograph"
NO_MATCH_TERM = "zyzzyvaquark"
RARE_RATE = 0.0005

PLACES = {
    "en": ["Astana", "Almaty", "Shymkent", "Karaganda", "Aktobe", "Pavlodar", "Atyrau", "Kostanay"],
    "ru": ["Астане", "Алматы", "Шымкенте", "Караганде", "Актобе", "Павлодаре", "Атырау"],
    "kk": ["Астанада", "Алматыда", "Шымкентте", "Қарағандыда", "Ақтөбеде", "Павлодарда"],
}
OBJECTS = {
    "en": [
        "LED screen",
        "billboard",
        "traffic light controller",
        "substation",
        "water pump",
        "ticket gate",
        "broadcast server",
        "CCTV camera",
        "payment terminal",
        "elevator",
    ],
    "ru": [
        "светодиодный экран",
        "рекламный щит",
        "контроллер светофора",
        "подстанция",
        "насосная станция",
        "турникет",
        "сервер вещания",
        "камера наблюдения",
        "терминал оплаты",
    ],
    "kk": [
        "жарықдиодты экран",
        "жарнама тақтасы",
        "бағдаршам контроллері",
        "қосалқы станция",
        "сорғы станциясы",
        "турникет",
        "хабар тарату сервері",
        "бақылау камерасы",
    ],
}
ACTORS = {
    "en": [
        "the operator",
        "a contractor",
        "the night technician",
        "a bystander",
        "the vendor",
        "the duty officer",
        "an unknown person",
        "the maintenance crew",
    ],
    "ru": ["оператор", "подрядчик", "ночной техник", "очевидец", "поставщик", "дежурный"],
    "kk": ["оператор", "мердігер", "түнгі техник", "куәгер", "жеткізуші", "кезекші"],
}
TEMPLATES = {
    "en": [
        "The {obj} in {place} showed unexpected content for about {n} seconds.",
        "{actor_cap} reported that the {obj} screen restarted at {hh}:{mm} local time.",
        "Logs from the {obj} show a failed login followed by a content upload.",
        "A video filmed by {actor} shows the screen from the opposite side of the avenue.",
        "The content management system was last updated {n} days before the incident.",
        "{actor_cap} says the operator console was unattended during the shift change.",
        "Power to the {obj} dropped twice within {n} minutes according to the operator log.",
        "The official statement mentions a technical glitch but gives no details.",
        "Network traffic to the {obj} increased sharply shortly before {hh}:{mm}.",
        "Witnesses in {place} describe the image differently; the screen footage is blurred.",
    ],
    "ru": [
        "На {obj} в {place} около {n} секунд показывалось постороннее изображение.",
        "{actor_cap} сообщил, что экран перезагрузился в {hh}:{mm} по местному времени.",
        "В журнале видна неудачная попытка входа, а затем загрузка контента.",
        "Видео, снятое очевидцем, показывает экран с другой стороны проспекта.",
        "Система управления контентом обновлялась за {n} дней до инцидента.",
        "По словам очевидца, пульт оператора во время пересменки оставался без присмотра.",
        "Питание пропадало дважды в течение {n} минут, согласно журналу оператора.",
        "В официальном заявлении говорится о техническом сбое без подробностей.",
        "Перед {hh}:{mm} резко вырос сетевой трафик к серверу вещания.",
    ],
    "kk": [
        "{place} {obj} шамамен {n} секунд бойы бөгде суретті көрсетті.",
        "{actor_cap} экран жергілікті уақытпен {hh}:{mm}-де қайта іске қосылғанын хабарлады.",
        "Журналда сәтсіз кіру әрекеті, одан кейін мазмұн жүктелгені көрінеді.",
        "Куәгер түсірген бейнежазба экранды даңғылдың арғы бетінен көрсетеді.",
        "Мазмұнды басқару жүйесі оқиғадан {n} күн бұрын жаңартылған.",
        "Оператор журналы бойынша қуат {n} минут ішінде екі рет өшті.",
        "Ресми мәлімдемеде техникалық ақау туралы айтылады, бірақ егжей-тегжейі жоқ.",
        "{hh}:{mm} алдында хабар тарату серверіне желілік трафик күрт өсті.",
    ],
}
TITLES = {
    "en": [
        "Unexpected image on the {obj} in {place}",
        "Outage of the {obj} in {place}",
        "Suspicious content on the {obj} screen",
        "{obj_cap} failure reported in {place}",
    ],
    "ru": ["Постороннее изображение: {obj} в {place}", "Сбой: {obj} в {place}"],
    "kk": ["{place} {obj} ақауы", "{place} күтпеген сурет: {obj}"],
}
HYPOTHESES = {
    "technical_fault": [
        "A software fault in the {obj} played a cached test image.",
        "A power fluctuation reset the {obj} to a default playlist.",
    ],
    "cyberattack": [
        "An attacker uploaded the content through the vendor's remote access.",
        "Stolen operator credentials were used to change the playlist.",
    ],
    "deliberate_act": [
        "An insider with console access changed the content on purpose.",
        "A contractor replaced the media file during maintenance.",
    ],
    "other": ["The footage was edited and the screen never showed the image."],
}
TAGS = [
    "astana",
    "almaty",
    "screen",
    "billboard",
    "power",
    "network",
    "insider",
    "vendor",
    "cctv",
    "transport",
    "payments",
    "broadcast",
    "state-visit",
    "misinformation",
    "video",
    "witness",
    "official",
    "logs",
    "malware",
    "credentials",
    "maintenance",
    "contractor",
    "traffic",
    "water",
    "energy",
    "telecom",
    "elevator",
    "ticketing",
    "social-media",
    "press",
]
LANGUAGES = ("kk", "ru", "en")
LANGUAGE_WEIGHTS = (0.3, 0.35, 0.35)


def language(rng: random.Random) -> str:
    return rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]


def _fill(template: str, lang: str, rng: random.Random) -> str:
    obj = rng.choice(OBJECTS[lang])
    actor = rng.choice(ACTORS[lang])
    return template.format(
        obj=obj,
        obj_cap=obj[:1].upper() + obj[1:],
        place=rng.choice(PLACES[lang]),
        actor=actor,
        actor_cap=actor[:1].upper() + actor[1:],
        n=rng.randint(2, 90),
        hh=f"{rng.randint(0, 23):02d}",
        mm=f"{rng.randint(0, 59):02d}",
    )


def sentence(lang: str, rng: random.Random) -> str:
    return _fill(rng.choice(TEMPLATES[lang]), lang, rng)


def paragraph(lang: str, rng: random.Random, low: int = 2, high: int = 5) -> str:
    text = " ".join(sentence(lang, rng) for _ in range(rng.randint(low, high)))
    if rng.random() < RARE_RATE:
        text += f" The {RARE_TERM} record was recovered."
    return text


def title(lang: str, rng: random.Random) -> str:
    text = _fill(rng.choice(TITLES[lang]), lang, rng)
    if rng.random() < RARE_RATE:
        text += f" ({RARE_TERM})"
    return text[:200]


def hypothesis_statement(kind: str, rng: random.Random) -> str:
    return _fill(rng.choice(HYPOTHESES[kind]), "en", rng)
