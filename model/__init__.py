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

The modules, in the order the data flows through them:

- serving: ``parse`` (bytes to a tree) → ``compact`` (what the extension's copy keeps) → ``segment``
  (blocks) → ``signals``, ``facts``, ``features`` (columns) → ``hashing``, ``fastpath``, ``forest`` (the
  fitted pipelines applied fast) → ``boxes`` and ``sequence`` (the second and third stages) →
  ``predict`` (the model and its rules) → ``decide`` (the elements to collapse); ``persist`` loads the
  file.
- training: ``training_data`` (rows, targets, weights) → ``pipeline`` and ``block_folds`` (fitting) →
  ``train`` (the stages, cross-validated) → ``thresholds`` → ``cv_summary`` and ``report``
  (docs/EVALUATION.md); ``heldout``, ``halves``, ``compare`` and ``ranking`` say how well it does.
  Serving imports none of these (tests/test_layering.py).
- labelled pages and measuring: ``labelled`` (pages and their labels), ``metrics`` (character counts),
  ``evaluate``, ``filterlist`` and ``peer`` (the filter-list peer), ``corpus_stats``; ``relabel`` writes
  labels into saved pages, ``files`` writes files safely.
"""

from model.errors import ModelError
from model.predict import Classification, HushModel, load_model

__all__ = ["Classification", "HushModel", "ModelError", "load_model"]
