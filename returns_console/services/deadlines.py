"""How long a command that reads both sources may take (alone, so asking costs no import)."""

#: The overall deadline of a command that reads both sources (check, close, doctor, the
#: console's refresh), in seconds: long enough for a large first read, short enough for cron.
DEFAULT_DEADLINE = 300.0
