"""``python -m guomi.cli``: the same as the ``guomi`` console script."""

from guomi.cli import main

main()
