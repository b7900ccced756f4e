"""``python -m chatfeedback``: the ``chatfeedback`` command."""

from .cli import main

main(prog_name="chatfeedback")
