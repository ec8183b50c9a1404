"""``python -m billing``: the same as the ``billing`` command."""

from billing.cli import main

main()
