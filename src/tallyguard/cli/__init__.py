"""The ``tallyguard`` command line (typer + rich); thin over the library."""
