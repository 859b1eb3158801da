"""Hush's model: HTML page → blocks → features → scores → the stamped ids to hide.

Public interface, used by the server and the command line::

    from model import load_model, ModelError
    m = load_model()             # the shipped model; load_model(path) for another file
    m.version                    # "hush-<digest12>": the same corpus and code give the same version
    m.metadata                   # JSON-serialisable dict: version, trained_at, corpus_digest,
                                 # sklearn_version, threshold, metrics, folders
    r = m.classify(html)         # str: a whole document or a fragment; elements may carry data-hush-id
    r.hide                       # [data-hush-id, ...] outermost stamped elements to collapse, document order
    r.blocks                     # [{"id": ..., "score": 0.97}, ...] stamped elements holding appeal blocks
    r.timings                    # {"parse": ms, "segment": ms, "features": ms, "predict": ms}

Every failure to load a model raises :class:`ModelError` with a one-line message.
"""

from model.errors import ModelError
from model.predict import Classification, HushModel, load_model

__all__ = ["Classification", "HushModel", "ModelError", "load_model"]
