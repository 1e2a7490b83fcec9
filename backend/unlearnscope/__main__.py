"""`python -m unlearnscope`: the same as the `unlearnscope` command."""

from .commands.main import main

raise SystemExit(main())
