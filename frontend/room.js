// The meeting room (filled in by the meeting-room work).
export {};
