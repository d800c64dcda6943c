"""Disclosure on request (依申请公开): applications, the statutory clock, replies and the annual table."""
