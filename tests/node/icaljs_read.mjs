// Reads an iCalendar feed from stdin with ical.js (the parser Thunderbird uses) and prints its
// events as JSON: uid, summary, status, sequence, start/end in UTC (or the date for all-day ones).
import ICAL from "ical.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const component = new ICAL.Component(ICAL.parse(input));
for (const tz of component.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(tz));
}
const when = (time) => (time.isDate ? time.toString() : time.toJSDate().toISOString());
const events = component.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    summary: event.summary,
    status: vevent.getFirstPropertyValue("status"),
    sequence: event.sequence,
    start: when(event.startDate),
    end: when(event.endDate),
    zone: event.startDate.isDate ? null : event.startDate.zone.tzid,
  };
});
process.stdout.write(JSON.stringify({ method: component.getFirstPropertyValue("method"), events }));
