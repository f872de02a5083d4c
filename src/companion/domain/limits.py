"""Every limit on what a client may send, said once.

The domain enforces them; the API's schemas take them from here, so the
OpenAPI document and the rules can never disagree.
"""

from __future__ import annotations

MAX_EMAIL_CHARS = 254
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256
MAX_NAME_CHARS = 100
MAX_NICKNAME_CHARS = 50
MAX_TIMEZONE_CHARS = 64

MIN_AGE, MAX_AGE = 18, 100
MAX_OCCUPATION_CHARS = 100
MAX_HOBBIES = 20
MAX_HOBBY_CHARS = 50
MAX_BACKSTORY_CHARS = 4000

MAX_MESSAGE_CHARS = 4000
MAX_CLIENT_MESSAGE_ID_CHARS = 100

MAX_GEMS_PER_ENTRY = 1_000_000
"""The most gems one credit, refund or price may move."""
MAX_PRICE_YEN = 1_000_000
MAX_IDEMPOTENCY_KEY_CHARS = 100
MAX_REFERENCE_CHARS = 200
MAX_ITEM_NAME_CHARS = 100
MAX_SLOT_CHARS = 32
MAX_PROVIDER_ID_CHARS = 255
"""The longest id a payment provider may give (a payment, an event, a subscription)."""

MAX_MOOD_HISTORY_POINTS = 2000
MIN_CYCLE_DAYS, MAX_CYCLE_DAYS = 14, 60
"""The most points one mood-chart answer holds (the most recent in the range)."""
