"""The one exception type whose message is meant for the user, not for a developer."""


class UserError(Exception):
    """Bad input: the message says what is wrong and what to do. Scripts print it as one line."""


class SettingsError(UserError):
    """Bad settings found only once the model has run (e.g. channels vs. --topk): stops the whole run."""
