"""The one exception type whose message is meant for the user, not for a developer, and how a library's
exception becomes part of one."""


class UserError(Exception):
    """Bad input: the message says what is wrong and what to do. Scripts print it as one line."""


class SettingsError(UserError):
    """Bad settings found only once the model has run (e.g. channels vs. --topk): stops the whole run."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (a library's may run over many), or its type's name when it
    has none: the part of a one-line error that says what the library found."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
