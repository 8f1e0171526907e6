"""The demo case INC-2024-0001 as data: its people, the case, its hypotheses, its
sources, the story of its timeline and its annotations.

``manage.py load_demo`` (incidents/cases/management/commands/load_demo.py)
replays it through the models' own methods; see its docstring for the story.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses.models import Hypothesis

REFERENCE = "INC-2024-0001"
PASSWORD = "inquest-demo"
ZONE = zoneinfo.ZoneInfo("Asia/Almaty")


def local(text: str) -> dt.datetime:
    """An aware datetime from a wall-clock time in Astana."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE)


# -- people -------------------------------------------------------------------------

# username: (first name, last name, case role or None, superuser)
USERS: dict[str, tuple[str, str, str | None, bool]] = {
    "lead": ("Demo", "Lead", Membership.Role.LEAD, False),
    "investigator": ("Demo", "Investigator", Membership.Role.INVESTIGATOR, False),
    "observer": ("Demo", "Observer", Membership.Role.OBSERVER, False),
    "outsider": ("Demo", "Outsider", None, False),
    "admin": ("Demo", "Administrator", None, True),
}

# -- the case -----------------------------------------------------------------------

CASE: dict[str, Any] = {
    "title": "Flag of Ukraine shown on an LED screen in Astana",
    "summary": (
        "During a state visit to Kazakhstan in 2024, a large public LED screen on one of "
        "Astana's main avenues briefly showed the flag of Ukraine instead of its scheduled "
        "content. Bystander videos spread quickly. The interior ministry opened an "
        "investigation and said it would consider every version: a technical glitch, a "
        "cyberattack on the screen's content system, or a deliberate act by someone with "
        "access to it.\n\n"
        "This demo case is written in our own words. Its date, times and coordinates are "
        "approximate, and every item marked illustrative (logs, witnesses, news texts) was "
        "invented for training."
    ),
    "occurred_at": local("2024-11-27T20:14"),
    "occurred_uncertainty": dt.timedelta(minutes=10),
    "place_name": "Main avenue, Astana (screen location approximate)",
    "latitude": "51.105000",
    "longitude": "71.430000",
    "time_zone": "Asia/Almaty",
    "severity": Incident.Severity.HIGH,
    "tags": ["led-screen", "state-visit", "astana"],
}

HYPOTHESES: dict[str, dict[str, str]] = {
    "fault": {
        "kind": Hypothesis.Kind.TECHNICAL_FAULT,
        "statement": "A fault in the screen's playback system showed the image by accident.",
        "description": (
            "A controller, player or scheduling error put stray content on the screen: "
            "no one meant it to appear."
        ),
    },
    "cyber": {
        "kind": Hypothesis.Kind.CYBERATTACK,
        "statement": "An outside attacker broke into the content system and pushed the image.",
        "description": (
            "Someone without legitimate access reached the content-management system or "
            "the controller over the network and replaced the scheduled content."
        ),
    },
    "insider": {
        "kind": Hypothesis.Kind.DELIBERATE_ACT,
        "statement": "Someone with legitimate access put the image on the screen on purpose.",
        "description": (
            "An employee or contractor of the operator, using valid credentials, "
            "scheduled or inserted the image deliberately."
        ),
    },
}

# -- the sources --------------------------------------------------------------------

LOG_TEXT = """\
# Illustrative extract written for the Inquest demo; not a real log. Times +05.
2024-11-27 20:02:11 scheduler playlist "evening-city" item 14/32 started
2024-11-27 20:13:48 auth      account op-07 signed in from workstation WS-3 (office LAN)
2024-11-27 20:14:05 content   manual playlist override by op-07: item "custom-0412.png" inserted
2024-11-27 20:14:26 content   override ended after 20 s, playlist "evening-city" resumed
2024-11-27 20:16:40 auth      op-07 signed out
2024-11-27 20:31:02 scheduler screen output disabled by supervisor
2024-11-27 21:00:00 summary   no remote (VPN) sessions between 19:00 and 21:00
"""

NEWS_EN = (
    "A large LED screen on one of Astana's main avenues displayed the flag of Ukraine for "
    "roughly twenty seconds in the evening, according to videos shared by passers-by. The "
    "company that runs the screen said the image was not part of the scheduled playlist and "
    "that the screen was taken offline while it checked its systems. The interior ministry "
    "said it had opened an inquiry and was considering every version, from a technical "
    "glitch to unauthorised access."
)

NEWS_RU = (
    "Вечером на одном из центральных проспектов Астаны большой светодиодный экран около "
    "двадцати секунд показывал флаг Украины. По словам владельца экрана, трансляцию "
    "остановили до выяснения обстоятельств. Полиция опросила сотрудников оператора, "
    "имеющих доступ к системе управления контентом. В МВД сообщили, что рассматриваются "
    "все версии."
)

NEWS_KK = (
    "Астанадағы орталық даңғылдардың біріндегі үлкен LED экранда бірнеше секунд бойы "
    "Украина туы көрсетілді. Экранды басқаратын компанияның айтуынша, бұл сурет жоспарланған "
    "бағдарламада болмаған. Қаладағы басқа экрандарда мұндай жағдай байқалмаған. Ішкі істер "
    "министрлігі тексеру бастады."
)


@dataclass(frozen=True)
class Source:
    """One evidence item of the demo, and its row of the ACH matrix."""

    key: str
    kind: str
    title: str
    description: str
    grade: str  # Admiralty: reliability letter + credibility digit
    illustrative: bool
    collected_by: str
    obtained_from: str
    collected_at: str  # local time in Astana
    event_at: str | None = None
    event_minutes: int | None = None  # ± uncertainty of event_at
    text: str = ""
    language: str = ""
    url: str = ""
    file_name: str = ""  # stored as an uploaded file with this name (content = text)
    # (hypothesis key, rating, relevance, reason) for each hypothesis
    ratings: tuple[tuple[str, str, str, str], ...] = ()


ILLUSTRATIVE = "Illustrative: written for the Inquest demo, not public record. "

SOURCES: tuple[Source, ...] = (
    Source(
        key="videos",
        kind=EvidenceItem.Kind.VIDEO,
        title="Bystander videos of the screen",
        description=(
            "Record of the bystander videos that circulated publicly on the evening of the "
            "incident, filmed from the pavement across the avenue. Durations are our own "
            "approximation."
        ),
        grade="C1",
        illustrative=False,
        collected_by="investigator",
        obtained_from="Public video-sharing and messaging channels",
        collected_at="2024-11-27T22:30",
        event_at="2024-11-27T20:14",
        event_minutes=5,
        text=(
            "Several videos from different angles show the screen switch from an "
            "advertisement to a full-frame image of the flag of Ukraine, correctly scaled, "
            "for about twenty seconds, then return to the advertisements."
        ),
        language="en",
        ratings=(
            ("fault", "I", "medium", "A glitch rarely produces a clean, full-frame image."),
            ("cyber", "C", "medium", "Fits an image pushed through the content system."),
            ("insider", "C", "medium", "Fits an image inserted on purpose."),
        ),
    ),
    Source(
        key="ministry",
        kind=EvidenceItem.Kind.OFFICIAL_STATEMENT,
        title="Interior ministry statement (paraphrase)",
        description=(
            "Our paraphrase of the interior ministry's public statement that it had opened "
            "an investigation and would consider every version. Not a quotation."
        ),
        grade="A2",
        illustrative=False,
        collected_by="investigator",
        obtained_from="Interior ministry press service",
        collected_at="2024-11-28T10:00",
        event_at="2024-11-28T09:00",
        event_minutes=180,
        text=(
            "Paraphrase: the ministry has opened an investigation into the display of the "
            "flag on the screen and will examine every version, including a technical "
            "failure, unauthorised access to the content system and deliberate action by "
            "persons with access to it."
        ),
        language="en",
        ratings=(
            ("fault", "N", "low", "Names every version; favours none."),
            ("cyber", "N", "low", "Names every version; favours none."),
            ("insider", "N", "low", "Names every version; favours none."),
        ),
    ),
    Source(
        key="news-en",
        kind=EvidenceItem.Kind.WEB_PAGE,
        title="News report in English: screen operator says image was not scheduled",
        description=ILLUSTRATIVE + "A news report in English, in the style of a wire story.",
        grade="B3",
        illustrative=True,
        collected_by="investigator",
        obtained_from="English-language news site (illustrative)",
        collected_at="2024-11-28T08:15",
        event_at="2024-11-27T23:00",
        event_minutes=60,
        text=NEWS_EN,
        language="en",
        url="https://news.example.org/astana-screen-flag",
        ratings=(
            ("fault", "I", "medium", "The operator says the image was not in the playlist."),
            ("cyber", "C", "medium", "Unscheduled content fits an intrusion."),
            ("insider", "C", "medium", "Unscheduled content fits a deliberate insertion."),
        ),
    ),
    Source(
        key="news-ru",
        kind=EvidenceItem.Kind.WEB_PAGE,
        title="Новостной репортаж на русском: полиция опросила сотрудников оператора",
        description=ILLUSTRATIVE + "A news report in Russian: police questioned operator staff.",
        grade="C3",
        illustrative=True,
        collected_by="investigator",
        obtained_from="Russian-language news site (illustrative)",
        collected_at="2024-11-28T09:40",
        event_at="2024-11-28T08:00",
        event_minutes=120,
        text=NEWS_RU,
        language="ru",
        url="https://ru.news.example.org/astana-ekran",
        ratings=(
            ("fault", "N", "medium", "Says nothing about the equipment."),
            ("cyber", "N", "medium", "Says nothing about outside access."),
            ("insider", "C", "medium", "Police questioned staff with access to the system."),
        ),
    ),
    Source(
        key="news-kk",
        kind=EvidenceItem.Kind.WEB_PAGE,
        title="Қазақ тіліндегі жаңалық: басқа экрандар зардап шекпеген",
        description=(
            ILLUSTRATIVE + "A news report in Kazakh: other screens of the network were "
            "not affected."
        ),
        grade="B2",
        illustrative=True,
        collected_by="lead",
        obtained_from="Kazakh-language news site (illustrative)",
        collected_at="2024-11-28T11:20",
        event_at="2024-11-28T10:30",
        event_minutes=60,
        text=NEWS_KK,
        language="kk",
        url="https://kk.news.example.org/astana-ekran",
        ratings=(
            ("fault", "N", "medium", "A single-screen fault is possible."),
            ("cyber", "I", "low", "An attack on the shared system would likely hit more screens."),
            ("insider", "C", "medium", "A targeted insertion on one screen fits."),
        ),
    ),
    Source(
        key="log",
        kind=EvidenceItem.Kind.LOG_EXTRACT,
        title="Operator log extract, 20:00–21:00",
        description=(
            ILLUSTRATIVE + "Extract of the content-management system's log handed over by "
            "the operator; user and workstation names are invented."
        ),
        grade="B2",
        illustrative=True,
        collected_by="investigator",
        obtained_from="Screen operator's IT department (illustrative)",
        collected_at="2024-11-29T15:00",
        event_at="2024-11-27T20:14",
        event_minutes=1,
        text=LOG_TEXT,
        language="en",
        file_name="operator-log-extract.txt",
        ratings=(
            ("fault", "II", "high", "A manual override by a signed-in account, not a fault."),
            ("cyber", "I", "high", "Signed in on the office LAN; no remote sessions."),
            ("insider", "CC", "high", "A valid operator account inserted the image by hand."),
        ),
    ),
    Source(
        key="witness",
        kind=EvidenceItem.Kind.WITNESS_STATEMENT,
        title="Witness statement: café worker across the avenue",
        description=ILLUSTRATIVE + "The witness is invented; name withheld.",
        grade="D3",
        illustrative=True,
        collected_by="lead",
        obtained_from="Witness A (invented for the demo)",
        collected_at="2024-11-28T14:00",
        event_at="2024-11-27T20:14",
        event_minutes=10,
        text=(
            "I was closing the café across the avenue. The screen flickered and went dark "
            "for a moment, then the blue and yellow flag filled the whole screen. People "
            "stopped to film it. After maybe twenty or thirty seconds the usual adverts "
            "came back."
        ),
        language="en",
        ratings=(
            ("fault", "C", "low", "A flicker before the image could point to a fault."),
            ("cyber", "N", "low", "Nothing about who changed the content."),
            ("insider", "N", "low", "Nothing about who changed the content."),
        ),
    ),
    Source(
        key="vendor",
        kind=EvidenceItem.Kind.DOCUMENT,
        title="Statement of the screen's vendor",
        description=(
            ILLUSTRATIVE + "The vendor has an interest in clearing its equipment; graded "
            "accordingly."
        ),
        grade="C4",
        illustrative=True,
        collected_by="investigator",
        obtained_from="Screen vendor's support department (illustrative)",
        collected_at="2024-11-30T12:00",
        text=(
            "Our controllers only display content from the approved playlist pushed by the "
            "operator's content-management system. They do not generate images and hold no "
            "cached content beyond the current playlist. Remote management needs the "
            "operator's VPN and two-factor sign-in."
        ),
        language="en",
        ratings=(
            ("fault", "I", "medium", "The controller cannot show content it was not sent."),
            ("cyber", "I", "low", "Remote access needs the VPN and a second factor."),
            ("insider", "C", "medium", "Content came through the operator's own system."),
        ),
    ),
    Source(
        key="claim",
        kind=EvidenceItem.Kind.SOCIAL_MEDIA_POST,
        title="Social-media post claiming responsibility",
        description=(
            ILLUSTRATIVE + "A post by an anonymous self-styled hacktivist account; no proof "
            "attached."
        ),
        grade="E5",
        illustrative=True,
        collected_by="investigator",
        obtained_from="Public social-media account (invented)",
        collected_at="2024-11-27T23:40",
        event_at="2024-11-27T21:05",
        event_minutes=2,
        text="Greetings to Astana from us: your screens are not as safe as you think.",
        language="en",
        url="https://social.example.org/@anon/1",
        ratings=(
            ("fault", "I", "low", "A claim of responsibility, if true, excludes a fault."),
            ("cyber", "CC", "medium", "Claims an intrusion outright."),
            ("insider", "N", "low", "An insider could also post this."),
        ),
    ),
    Source(
        key="forum",
        kind=EvidenceItem.Kind.OTHER,
        title="Anonymous forum post about a dismissed contractor",
        description=ILLUSTRATIVE + "Unsourced rumour; reliability cannot be judged.",
        grade="F6",
        illustrative=True,
        collected_by="lead",
        obtained_from="Anonymous forum (invented)",
        collected_at="2024-11-29T09:30",
        text=(
            "Heard the screen company let a contractor go last week after a row about "
            "unpaid wages. Make of that what you will."
        ),
        language="en",
        ratings=(
            ("fault", "NA", "low", "Has no bearing on the equipment."),
            ("cyber", "N", "low", "A former contractor might also attack from outside."),
            ("insider", "C", "low", "A motive for someone who had access."),
        ),
    ),
)

# -- the investigation, step by step --------------------------------------------------
# (action, who, *arguments); replayed in order through the models' methods.

STORY: tuple[tuple[str, ...], ...] = (
    ("propose", "lead", "fault"),
    ("propose", "lead", "cyber"),
    ("propose", "investigator", "insider"),
    ("case", "lead", "investigating", "Three hypotheses registered; collecting sources."),
    ("attach", "videos"),
    ("attach", "claim"),
    ("confidence", "lead", "fault", "roughly_even", "First look at the videos."),
    ("confidence", "lead", "cyber", "roughly_even", "A claim of responsibility is online."),
    ("confidence", "lead", "insider", "unlikely", "No sign of an insider yet."),
    ("attach", "news-en"),
    ("attach", "news-ru"),
    ("attach", "news-kk"),
    ("attach", "ministry"),
    (
        "post",
        "lead",
        StatusUpdate.Kind.OFFICIAL_STATEMENT,
        "The interior ministry has opened an investigation and is considering every version.",
    ),
    ("move", "lead", "fault", "under_evaluation", "Every version is open, as the ministry says."),
    ("move", "lead", "cyber", "under_evaluation", "Every version is open, as the ministry says."),
    ("move", "lead", "insider", "under_evaluation", "Police questioned operator staff."),
    ("attach", "witness"),
    ("attach", "forum"),
    ("attach", "log"),
    ("attach", "vendor"),
    ("rate-all",),
    (
        "post",
        "investigator",
        StatusUpdate.Kind.FINDING,
        "The operator log shows a manual playlist override from an office workstation one "
        "minute before the image appeared, and no remote sessions that evening.",
    ),
    (
        "move",
        "lead",
        "fault",
        "weakened",
        "The log shows a manual override; the vendor says the controller cannot invent content.",
    ),
    ("confidence", "lead", "fault", "very_unlikely", "Manual override in the operator log."),
    ("confidence", "lead", "cyber", "unlikely", "No remote sessions; the claim has no proof."),
    (
        "move",
        "lead",
        "insider",
        "supported",
        "A valid operator account inserted the image from the office network.",
    ),
    ("confidence", "lead", "insider", "likely", "The log points to a signed-in operator."),
    ("verify", "investigator", "log", "Hash checked against the handover copy."),
    (
        "transfer",
        "lead",
        "videos",
        "Case archive (illustrative)",
        "Copies of the videos handed to the case archive.",
    ),
    (
        "post",
        "investigator",
        StatusUpdate.Kind.NOTE,
        "Next: ask the operator who used account op-07 that evening.",
    ),
)

# (evidence key, who, exact passage, note, stance, hypothesis key or "", tags)
ANNOTATIONS: tuple[tuple[str, str, str, str, str, str, tuple[str, ...]], ...] = (
    (
        "log",
        "investigator",
        'manual playlist override by op-07: item "custom-0412.png" inserted',
        "The image was inserted by hand from a signed-in operator account.",
        Annotation.Stance.SUPPORTS,
        "insider",
        ("key-passage",),
    ),
    (
        "news-en",
        "lead",
        "the image was not part of the scheduled playlist",
        "The operator itself rules out a scheduling mistake.",
        Annotation.Stance.CONTRADICTS,
        "fault",
        (),
    ),
    (
        "news-ru",
        "investigator",
        "Полиция опросила сотрудников оператора",
        "Police questioned staff with access: the insider version is taken seriously.",
        Annotation.Stance.NONE,
        "",
        ("insider",),
    ),
)
