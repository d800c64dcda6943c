"""The `jiyue` command: every Django management command, plus jiyue's own
(`setup`, `serve`, `worker`, `demo`, ...), which are management commands of its apps."""

import os
import sys


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiyue.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["jiyue", *argv])


if __name__ == "__main__":
    main()
