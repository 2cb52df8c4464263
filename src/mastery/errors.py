"""The one error family the doors turn into a clear message and a non-zero exit."""


class MasteryError(Exception):
    """A failure the user can act on: the message says what went wrong and where."""
