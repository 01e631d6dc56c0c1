"""``python -m needlewise.cli``."""

from needlewise.cli import main

main()
