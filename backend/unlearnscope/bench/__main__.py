"""`python -m unlearnscope.bench`: the same as `unlearnscope bench`."""

from .suite import main

raise SystemExit(main())
