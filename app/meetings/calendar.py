"""iCalendar (RFC 5545) feeds and iTIP (RFC 5546) invitations, built with the `icalendar` library.

Callers describe each thing as a `CalendarEntry` that already carries no personal data (a case
reference and a link, never a name, BSN or care detail); this module only writes the format:
stable UIDs, SEQUENCE, STATUS:CANCELLED, and times in Europe/Amsterdam with a VTIMEZONE.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from urllib.parse import urlparse

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from app.web import AMSTERDAM

PRODID = "-//Ketentafel//Instroomoverleg//NL"


@dataclass(frozen=True)
class CalendarEntry:
    """One event as calendars show it."""

    uid: str
    sequence: int
    summary: str
    starts_at: dt.datetime | dt.date
    ends_at: dt.datetime | dt.date
    cancelled: bool = False
    location: str = ""
    description: str = ""
    url: str = ""
    modified_at: dt.datetime | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)


def uid(kind: str, object_id: int, base_url: str) -> str:
    """Stable per thing and per installation: `meeting-12@ketentafel.example.nl`."""
    host = urlparse(base_url).hostname or "ketentafel"
    return f"{kind}-{object_id}@{host}"


def _when(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(AMSTERDAM)
    return value


def event(entry: CalendarEntry, stamp: dt.datetime) -> Event:
    ev = Event()
    ev.add("uid", entry.uid)
    ev.add("dtstamp", stamp.astimezone(dt.UTC))
    ev.add("sequence", entry.sequence)
    ev.add("summary", entry.summary)
    ev.add("dtstart", _when(entry.starts_at))
    ev.add("dtend", _when(entry.ends_at))
    ev.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    ev.add(
        "transp",
        "TRANSPARENT"
        if isinstance(entry.starts_at, dt.date) and not isinstance(entry.starts_at, dt.datetime)
        else "OPAQUE",
    )
    if entry.location:
        ev.add("location", entry.location)
    if entry.description:
        ev.add("description", entry.description)
    if entry.url:
        ev.add("url", entry.url)
    if entry.modified_at is not None:
        ev.add("last-modified", entry.modified_at.astimezone(dt.UTC))
    if entry.categories:
        ev.add("categories", list(entry.categories))
    return ev


def _calendar(method: str | None, name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", "Europe/Amsterdam")
        cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", "PT1H")
    return cal


def _with_timezone(cal: Calendar, entries: list[CalendarEntry]) -> Calendar:
    days = [
        e.starts_at.date() if isinstance(e.starts_at, dt.datetime) else e.starts_at for e in entries
    ]
    if any(isinstance(e.starts_at, dt.datetime) for e in entries):
        # Only the years the events need: a VTIMEZONE since 1970 would triple the feed.
        first = dt.date(min(days).year - 1, 1, 1)
        last = dt.date(max(days).year + 2, 1, 1)
        cal.add_component(_amsterdam(first, last))
    return cal


@functools.lru_cache(maxsize=64)
def _amsterdam(first: dt.date, last: dt.date) -> Timezone:
    """The VTIMEZONE of every time we write (all are Europe/Amsterdam), for the years given."""
    return Timezone.from_tzid("Europe/Amsterdam", first_date=first, last_date=last)


def feed(entries: list[CalendarEntry], name: str, now: dt.datetime) -> bytes:
    """A subscribable calendar (no METHOD): what is planned, moved or cancelled.

    Each event is serialised once per version and kept (a meeting is in every member's feed and
    a feed is fetched again every hour): building the iCalendar text is most of a feed's cost."""
    head = _with_timezone(_calendar(None, name), entries).to_ical()
    end = b"END:VCALENDAR\r\n"
    if not head.endswith(end):
        raise ValueError("unexpected calendar serialisation")
    events = b"".join(
        _event_ical(entry) if entry.modified_at is not None else event(entry, now).to_ical()
        for entry in entries
    )
    return head[: -len(end)] + events + end


@functools.lru_cache(maxsize=50_000)
def _event_ical(entry: CalendarEntry) -> bytes:
    """One VEVENT's text; the entry (frozen, with its last change) is the key."""
    return bytes(event(entry, entry.modified_at or dt.datetime.now(dt.UTC)).to_ical())


def invitation(
    entry: CalendarEntry,
    method: str,
    *,
    organizer_email: str,
    organizer_name: str,
    attendee_email: str,
    attendee_name: str,
    now: dt.datetime,
) -> str:
    """An iTIP REQUEST (new or changed, with its SEQUENCE) or CANCEL for one attendee."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method}")
    cal = _calendar(method)
    ev = event(entry, now)
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText(organizer_name)
    ev.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params["cn"] = vText(attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")
    ev.add("attendee", attendee)
    if method == "CANCEL":
        ev["status"] = "CANCELLED"
    cal.add_component(ev)
    return _with_timezone(cal, [entry]).to_ical().decode()
