"""The one error of the command line: an option, or data, that the job cannot work with."""


class OptionError(ValueError):
    """A bad option, or data the options cannot work with; the message says which and why.

    The command ends with the message and exit status 2, before any training.
    """
