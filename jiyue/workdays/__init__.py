"""The working-day calendar (工作日历). Public interface: `jiyue.workdays.calendar`."""
