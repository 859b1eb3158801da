"""Errors raised by the model package, each with a message fit to show a user."""


class ModelError(Exception):
    """A model file is missing, unreadable, tampered with or from an incompatible version."""


class PageError(Exception):
    """A page file cannot be read as HTML (missing, empty, binary)."""


class PageTooLarge(PageError):
    """A page holds more elements than Hush reads (``model.parse.MAX_ELEMENTS``)."""

    code = "too_many_elements"  # the API's error code


class TooManyAttributes(PageTooLarge):
    """An element of the page carries more attributes than Hush reads (``model.parse.MAX_ATTRIBUTES``)."""

    code = "too_many_attributes"
