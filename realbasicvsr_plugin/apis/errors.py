"""The error raised for problems the user can fix: a bad input, output or option."""


class InferenceError(ValueError):
    """A problem with the user's input file, output path or options.

    The message is one line that names the file or option at fault; the command-line front end
    prints it without a traceback. Being a :class:`ValueError`, it can be caught as one by API
    users.
    """
