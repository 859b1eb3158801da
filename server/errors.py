"""Errors the command line and the HTTP layer turn into clear messages."""


class CliError(Exception):
    """A problem the user can fix; ``hush`` prints it as one line and exits with status 2."""
