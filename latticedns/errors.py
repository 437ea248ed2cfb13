"""Exception types shared by every layer of latticedns.

`ConfigError` is raised for bad user input (a sample, run or campaign definition, or
a bad argument to a public function).  It subclasses `ValueError` so that library users
can catch it as such; the command-line interface turns it into one clear message on
stderr and exit code 2, before anything is written.
"""

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """Bad user input: names the offending key and the allowed range.

    Parameters
    ----------
    key : str
        Dotted name of the offending key or argument (e.g. ``"sample.radical_mM"``).
    message : str
        What is wrong and what is allowed (e.g. ``"must be > 0 mM, got -5"``).
    """

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")
