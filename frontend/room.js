// The meeting room: follow the chair (or look around and come back with V), live signals over
// Server-Sent Events, the chair's keyboard shortcuts, and the timer of the current item.
// htmx comes from app.js (loaded first); a second bundled copy would process every element twice.
const htmx = window.htmx;
const room = document.getElementById("room");

function inField(target) {
  return target.closest && target.closest("input, textarea, select, [contenteditable]");
}

if (room) {
  const meeting = room.dataset.meeting;
  let current = room.dataset.current || "";
  let viewing = current;
  let following = true;
  const followStatus = document.getElementById("follow-status");

  const setFollowing = (value) => {
    following = value;
    followStatus?.classList.toggle("kt-follow--off", !value);
    room.dataset.following = value ? "ja" : "nee";
  };

  const showItem = (itemId) => {
    viewing = itemId;
    if (!itemId) return;
    htmx.ajax("GET", `/overleggen/${meeting}/overleg/punt/${itemId}`, { target: "#room-panel", swap: "innerHTML" });
  };

  const follow = () => {
    setFollowing(true);
    if (current && current !== viewing) showItem(current);
  };

  const noteCurrent = (next) => {
    next = next ? String(next) : "";
    if (next === current) return;
    current = next;
    room.dataset.current = current;
    if (following) showItem(current);
  };

  const refreshPart = (type, caseId) => {
    document.querySelectorAll(`[data-refresh-on="${type}"]`).forEach((section) => {
      const panel = section.closest("[data-case]");
      if (panel && String(panel.dataset.case) !== String(caseId)) return;
      if (section.contains(document.activeElement)) return; // do not pull the field from under the typist
      if (section.dataset.refreshUrl) {
        htmx.ajax("GET", section.dataset.refreshUrl, { target: section, swap: "outerHTML" });
      } else if (viewing) {
        showItem(viewing);
      }
    });
  };

  const events = new EventSource(room.dataset.events);
  events.addEventListener("hello", () => htmx.trigger("#room-state", "kt-room-refresh"));
  events.addEventListener("room", (event) => {
    const data = JSON.parse(event.data);
    htmx.trigger("#room-state", "kt-room-refresh");
    noteCurrent(data.current);
  });
  events.addEventListener("presence", () => htmx.trigger("#room-presence", "kt-presence-refresh"));
  for (const type of ["actions", "pairing", "leefgebied"]) {
    events.addEventListener(type, (event) => refreshPart(type, JSON.parse(event.data).case_id));
  }

  // The state fragment also carries the current item: a missed signal is repaired on refresh.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "room-state") {
      const state = event.detail.target.querySelector(".kt-room-state");
      if (state) noteCurrent(state.dataset.current);
    }
  });

  // Looking at another item stops following; the chair's own moves keep following.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-view-item]");
    if (link) {
      viewing = link.dataset.viewItem;
      setFollowing(viewing === current);
    }
    if (event.target.closest("[data-follow]")) follow();
  });

  document.addEventListener("keydown", (event) => {
    if (inField(event.target) || event.ctrlKey || event.metaKey) return;
    if (event.key === "v" || event.key === "V") {
      event.preventDefault();
      follow();
    } else if (event.altKey && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
      const button = document.querySelector(`[data-control="${event.key === "ArrowRight" ? "volgende" : "vorige"}"]`);
      if (button) {
        event.preventDefault();
        button.click();
      }
    }
  });

  const pad = (n) => String(n).padStart(2, "0");
  setInterval(() => {
    document.querySelectorAll("[data-timer]").forEach((timer) => {
      const started = Date.parse(timer.dataset.started);
      const spent = Number(timer.dataset.spent || 0);
      const seconds = Math.max(0, Math.floor(spent + (Date.now() - started) / 1000));
      const planned = Number(timer.dataset.planned || 0) * 60;
      timer.textContent = `${pad(Math.floor(seconds / 60))}:${pad(seconds % 60)} / ${pad(planned / 60)}:00`;
      timer.classList.toggle("kt-timer--over", planned > 0 && seconds > planned);
    });
  }, 1000);

  setFollowing(true);
}
