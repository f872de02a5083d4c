"""The log read back in time, for analysts: a character as it was at a moment, a mood
trajectory replayed through another emotion engine, a character's days. Nothing here writes."""
