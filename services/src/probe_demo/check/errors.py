"""The one error `probe-demo check` ends with when it cannot do its job."""


class CheckError(Exception):
    """One line for the user: what was asked, what was refused or missing."""
