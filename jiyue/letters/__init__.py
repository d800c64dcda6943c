"""Letters (信件): 领导信箱, department mailboxes and the 12345 hotline, with statutory clocks.

Public interface: `jiyue.letters.services` (submit, act, public_view …) and the outbox topics
`letter.submitted` / `letter.changed` (payload: status, action). See docs/interaction.md.
"""
