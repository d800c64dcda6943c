"""Demo data for the working-day calendar: deliberately none.

The official schedules come from the chinese-calendar package; a year it does not know yet
must be entered by the platform operator from the State Council's notice in 工作日历. Inventing
dates for a future year would make demo deadlines look authoritative, so the demo leaves that
year unconfirmed and the admin shows its warning banner."""


def load(loader) -> None:
    return None
