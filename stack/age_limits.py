"""How long, by age, the records that grow with every conversation are kept: the limits the retention sweep
(privacy/sweep.py) enforces. Streams also have a length bound and most keys an expiry
(whatsapp_cloud/retention.py); these limits hold whatever those allow, also after a setting was lowered.

Built from the settings by stack/components.py `age_limits()`; the README's retention table lists each one.
Analytics aggregates are not here: they name nobody and outlive the raw data by design.
"""

from dataclasses import dataclass

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class AgeLimits:
    trackers: int = 30 * DAY  # Rasa's tracker, after its last event (RASA_TRACKER_EXPIRY_DAYS)
    transcripts: int = 30 * DAY  # a resolved handoff chat and its messages after the resolve; inbox feed entries
    events: int = 90 * DAY  # wa:events entries
    delivery_records: int = 30 * DAY  # wa:out:{wamid} after its latest status (its expiry is 30 days anyway)
    media: int = 30 * DAY  # files in MEDIA_DIR (invoice PDFs), after they were written
    sweep_every: int = HOUR  # how often the sweep runs
