"""The ``srtheory`` commands, one module per command (:mod:`.verify`, :mod:`.radius`,
:mod:`.demo`, :mod:`.experiments`, :mod:`.bench`, ...; :data:`srtheory.cli.COMMANDS` lists them all).

Each defines ``add_arguments(parser)`` and ``main(args) -> int``; :mod:`srtheory.cli` lists them
in one table and dispatches.  :mod:`._args` holds the validated argument types and
:class:`~._args.UsageError`.  All argparse, printing and plotting code of the project lives here;
the library modules the commands call export none.  Nothing is imported here, so importing this
package stays light (``srtheory verify`` never imports torch).
"""
