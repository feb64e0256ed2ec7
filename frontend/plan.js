// The plan van aanpak editor (filled in by the meeting-room work).
export {};
