"""`python -m unlearnscope.bench`: the same as `unlearnscope bench`."""

from ..commands.bench import main

raise SystemExit(main())
