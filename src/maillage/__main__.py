"""`maillage <command>` and `python -m maillage <command>`: Django's management commands."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["maillage", *sys.argv[1:]])


if __name__ == "__main__":
    main()
