"""medner: medical named-entity recognition with spaCy and Hugging Face token classifiers."""

__version__ = "0.3.0"


def register_extension(cls, name: str, **kwargs) -> None:
    """The one way medner's components register a spaCy extension attribute (``Doc``, ``Span`` or ``Token``).

    An attribute with a ``default`` is registered once: a registration that exists already (another import of
    the module, or another library's) is kept. A computed one (``getter``/``setter``/``method``) is always
    (re)registered with ``force=True``, so it is the function of the module imported last.
    """
    if "default" in kwargs:
        if not cls.has_extension(name):
            cls.set_extension(name, **kwargs)
    else:
        cls.set_extension(name, force=True, **kwargs)
