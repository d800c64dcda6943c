"""Encrypted backups and their restore (`jiyue backup`, `jiyue restore`), and scheduled backups
with retention.

Public interface: `services.create_backup(folder, secret)`, `services.restore_backup(archive,
secret)`, `services.prune(folder, keep)`, `services.passphrase(file)`; the archive format is
described in `archive.py`, the operator's procedure in docs/security.md.
"""
