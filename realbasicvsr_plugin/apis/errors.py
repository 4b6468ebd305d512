"""The error raised for problems the user can fix: a bad input, output or option."""
from typing import Optional, Sequence, Tuple, Union


class InferenceError(ValueError):
    """A problem with the user's input file, output path or options.

    The message is one line that names the file or the API parameter at fault (``max_seq_len``,
    ``precision``, ...), never a command-line flag: library code speaks the caller's language.
    The command-line front end prints it without a traceback and, when ``param`` is set, writes
    that parameter's flag (``--max-seq-len``) in place of its name. Being a :class:`ValueError`,
    it can be caught as one by API users.

    Args:
        message (str): The one-line message.
        param (str | Sequence[str], optional): The API parameter(s) the message is about, as
            named in the message.
    """

    def __init__(self, message: str, param: Union[str, Sequence[str], None] = None) -> None:
        super().__init__(message)
        self.param = param

    @property
    def params(self) -> Tuple[str, ...]:
        """The parameters the message names (empty if none)."""
        if self.param is None:
            return ()
        return (self.param,) if isinstance(self.param, str) else tuple(self.param)
