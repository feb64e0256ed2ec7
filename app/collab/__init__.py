"""Live editing of the plan van aanpak: a y-websocket server on pycrdt (docs/interfaces.md, "The plan
channel").

One room per case's plan, holding a `pycrdt.Doc` with one `Text` per section (`doel` and each
leefgebied). The protocol facts and pitfalls behind this design are the numbered notes in
docs/interfaces.md ("What the server does, and why"):

- Durable before visible: every update a client sends is appended to `plan_updates` before anyone
  else receives it. Updates arriving in one event-loop turn are written in one commit (group commit)
  and sent on as one merged update.
- On connect the server sends sync step 1, so a client that edited offline pushes its edits.
- Awareness (who types where) is relayed to everyone, including the sender; the name and colour in
  it are set by the server from the logged-in user, so nobody can pose as someone else. When a
  socket closes, its awareness entries are removed for everyone.
- Several processes: a room subscribes to its Redis channel before loading from the database,
  publishes its persisted updates and awareness through one ordered queue, and exchanges state
  vectors on load and periodically so a missed pub/sub message is repaired (pub/sub is at-most-once).
- Compaction squashes the update log into a snapshot in the database, from what the database holds
  (never from one process's copy), on load and every COMPACT_EVERY updates or so; it deletes
  exactly the rows it folded in and gives up if another process compacted meanwhile.
- A room is unloaded after its last client left and a grace period, after a final flush.

The package: `protocol` (frames and awareness bytes), `models` (the update log and snapshot
tables), `store` (appending and compacting them), `room` (one document with its clients) and
`server` (all rooms of a process, group commit and Redis fan-out).
"""
