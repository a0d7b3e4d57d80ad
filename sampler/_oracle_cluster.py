r"""Semantic clustering of answers into equivalence classes, and the votes it defines.

Free-form answers to one input (one image, one prompt) are grouped into classes of
semantically equivalent answers, by one of two relations between two answers ``a, b``:

* ``"embedding"``: ``cos(e(a), e(b)) >= threshold``, with ``e`` the mean-pooled last hidden
  state of a transformers encoder (over the attention mask), L2-normalised;
* ``"entailment"``: ``a`` entails ``b`` *and* ``b`` entails ``a`` under an NLI model
  (bidirectional entailment, as in semantic-entropy work).

Identical texts are always related. Neither relation is transitive, so the classes are
the **connected components** of the relation graph over the distinct answers (its
transitive closure): a well-defined partition that does not depend on the order of the
answers, unlike a greedy pass that compares each answer to the clusters built so far.

**Canonical numbering.** Cluster ids go by size (answers counted with multiplicity),
largest first; ties by the lexicographically smallest member text. So cluster 0 is the
most voted class (``sampler.top_two`` picks it, its ties going to the lower id), and any
permutation of the answers permutes the ids with them.

**Votes with a selection and an estimation set** (Cohen et al. CERTIFY; theory notes
section 4.4). The ``n0`` selection answers are clustered (:meth:`SemanticClusterer.select`),
which fixes the classes and the selected class (cluster 0). Each of the ``n`` estimation
answers is then labelled *on its own* against the selection clusters
(:class:`ClusterOracle`): it joins a cluster if it is related to at least one of its
members (single linkage, the rule the components are built by); if it is related to
several, the embedding rule takes the cluster of the most similar member and the
entailment rule the lowest id; if to none, it is ``"unmatched"`` (the last class, with
no selection votes). Because each label is a fixed function of one answer once the
selection is fixed, the ``n`` estimation labels are independent draws given the
selection, and ``k = #{label == 0}`` is Binomial(n, q): exactly what the Clopper-Pearson
bound needs. Clustering the estimation answers jointly would not give this (a label would
depend on the other answers, and the class would be chosen on the samples it is counted
on).

The number of classes varies from input to input; the symmetric oracle correction of
:func:`rstheory.certify` needs a fixed ``num_classes``, the asymmetric one
(``RateBounds``, false positives of "same class as the selected answer") does not.

References:
  L. Kuhn, Y. Gal, S. Farquhar (2023), "Semantic Uncertainty: Linguistic Invariances for
  Uncertainty Estimation in Natural Language Generation", ICLR (bidirectional entailment).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from sampler._oracle_base import load_pretrained
from sampler._validation import check_count, check_texts, resolve_device

__all__ = ["ClusterOracle", "SemanticClusterer"]

_METHODS = ("embedding", "entailment")


def _components(adjacency: np.ndarray) -> np.ndarray:
    """Connected-component index of each node of a symmetric boolean ``(U, U)`` graph."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    _, comp = connected_components(csr_matrix(adjacency), directed=False)
    return comp


class _Relation(NamedTuple):
    related: np.ndarray  # bool (A, B)
    score: np.ndarray  # float64 (A, B): cosine similarity, or 1.0 where related (entailment)


class SemanticClusterer:
    """Clusters the answers to one input into semantic equivalence classes.

    See the module docstring for the relation (embedding threshold or bidirectional
    entailment), the connected-component rule and the canonical numbering.

    Args:
      model: ``"embedding"``: a path or hub id of an encoder (``AutoModel``), a loaded
        encoder, or a callable ``texts -> FloatTensor (N, D)`` of embeddings.
        ``"entailment"``: a path or hub id of an NLI classifier
        (``AutoModelForSequenceClassification``; the entailment class is found through
        ``config.label2id``/``id2label``), a loaded one, or a callable
        ``(premises, hypotheses) -> BoolTensor (N,)``: whether each premise entails its
        hypothesis.
      tokenizer: path, hub id or loaded tokenizer; default ``model``'s path; required for
        a loaded model, unused for a callable.
      method: ``"embedding"`` or ``"entailment"``.
      threshold: cosine-similarity threshold in ``[-1, 1]`` for ``"embedding"`` (default
        0.9); must be None for ``"entailment"``.
      batch_size: texts or text pairs per forward pass, ``>= 1``.
      device: ``"auto"`` (CUDA if available, else CPU) or a torch device.
      max_length: tokens kept per text (pair), truncation beyond.
      trust_remote_code: passed to ``from_pretrained``; off unless asked.

    Cost: the embedding method embeds each distinct text once; the entailment method
    runs ``U(U - 1)`` NLI pairs for ``U`` distinct selection texts and ``2 E S`` pairs to
    label ``E`` distinct estimation texts against ``S`` distinct selection texts.

    Example (a stub embedding: the first letter decides):
      >>> import torch
      >>> from sampler.oracles import SemanticClusterer
      >>> def embed(texts):
      ...     return torch.stack([torch.eye(3)[ord(t[0]) % 3] for t in texts])
      >>> clusterer = SemanticClusterer(embed, method="embedding", threshold=0.99)
      >>> clusterer(["cat", "car", "dog", "cot"])  # 'c' x3 is the largest cluster
      tensor([0, 0, 1, 0])
      >>> oracle = clusterer.select(["cat", "dog", "cut"])
      >>> oracle.labels, oracle.selection_labels
      (('cluster 0', 'cluster 1', 'unmatched'), tensor([0, 1, 0]))
      >>> oracle(["cab", "dot", "egg"])  # 'e' matches no selection cluster
      tensor([0, 1, 2])
    """

    def __init__(
        self,
        model,
        tokenizer=None,
        *,
        method: str = "embedding",
        threshold: float | None = None,
        batch_size: int = 32,
        device="auto",
        max_length: int = 256,
        trust_remote_code: bool = False,
    ):
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        if method == "embedding":
            threshold = 0.9 if threshold is None else threshold
            if (
                isinstance(threshold, bool)
                or not isinstance(threshold, int | float | np.floating)
                or not -1.0 <= float(threshold) <= 1.0
            ):
                raise ValueError(f"threshold must be a number in [-1, 1], got {threshold!r}")
            threshold = float(threshold)
        elif threshold is not None:
            raise ValueError(f"threshold must be None for method='entailment', got {threshold!r}")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be an int >= 1, got {max_length!r}")
        self.method = method
        self.threshold = threshold
        self.batch_size = check_count(batch_size, name="batch_size")
        self.device = resolve_device(device)
        self.max_length = max_length
        self.model = self.tokenizer = self._fn = None
        if isinstance(model, str | os.PathLike | torch.nn.Module):
            auto = "AutoModel" if method == "embedding" else "AutoModelForSequenceClassification"
            self.model, self.tokenizer = load_pretrained(
                model, tokenizer, auto, trust_remote_code=trust_remote_code, dtype=None
            )
            self.model.to(self.device).eval()
            if method == "entailment":
                self._entail_id = _entailment_id(self.model.config)
        elif callable(model):
            self._fn = model
        else:
            raise ValueError(
                "model must be a path, a hub id, a loaded transformers model or a "
                f"callable, got {type(model).__name__}"
            )

    # -- the relation ----------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised embeddings, float64 ``(N, D)`` on the CPU (``"embedding"`` only).

        Mean of ``last_hidden_state`` over the attention mask, in batches of ``batch_size``
        of the texts in the given order.
        """
        texts = check_texts(texts)
        if self.method != "embedding":
            raise ValueError("embed needs method='embedding'")
        if not texts:
            return torch.zeros((0, 0), dtype=torch.float64)
        if self._fn is not None:
            e = torch.as_tensor(self._fn(texts)).detach().to("cpu", torch.float64)
            if e.ndim != 2 or e.shape[0] != len(texts):
                raise ValueError(
                    f"the embedding callable must return shape (N, D) = "
                    f"({len(texts)}, D), got {tuple(e.shape)}"
                )
        else:
            parts = []
            for enc in self._batches(texts):
                with torch.inference_mode():
                    hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                parts.append(pooled.to("cpu", torch.float64))
            e = torch.cat(parts)
        return torch.nn.functional.normalize(e, dim=-1)

    def _batches(self, *columns: list[str]):
        """The tokenized batches of ``columns`` (one text list, or premises and hypotheses),
        ``batch_size`` rows each, on the model's device."""
        for i in range(0, len(columns[0]), self.batch_size):
            # Right padding: encoders with absolute positions (BERT) would shift under left.
            yield self.tokenizer(
                *(c[i : i + self.batch_size] for c in columns),
                return_tensors="pt",
                padding=True,
                padding_side="right",
                truncation=True,
                max_length=self.max_length,
            ).to(self.device)

    def entails(self, premises: Sequence[str], hypotheses: Sequence[str]) -> torch.Tensor:
        """Whether each premise entails its hypothesis, bool ``(N,)`` (``"entailment"`` only).

        The NLI model's argmax class is its entailment class; pairs run in batches.
        """
        premises = check_texts(premises, name="premises")
        hypotheses = check_texts(hypotheses, name="hypotheses")
        if self.method != "entailment":
            raise ValueError("entails needs method='entailment'")
        if len(premises) != len(hypotheses):
            raise ValueError(
                f"premises and hypotheses must have the same length, got "
                f"{len(premises)} and {len(hypotheses)}"
            )
        if not premises:
            return torch.zeros(0, dtype=torch.bool)
        if self._fn is not None:
            out = torch.as_tensor(self._fn(premises, hypotheses)).to("cpu").reshape(-1)
            if out.dtype != torch.bool or out.numel() != len(premises):
                raise ValueError(
                    f"the entailment callable must return a bool tensor of shape "
                    f"({len(premises)},), got {out.dtype} {tuple(out.shape)}"
                )
            return out
        parts = []
        for enc in self._batches(premises, hypotheses):
            with torch.inference_mode():
                logits = self.model(**enc).logits
            parts.append(logits.argmax(-1).cpu() == self._entail_id)
        return torch.cat(parts)

    def _relation(self, left: list[str], right: list[str]) -> _Relation:
        """The relation between every left and right text, ``(len(left), len(right))``."""
        if self.method == "embedding":
            union = sorted(set(left) | set(right))
            e = self.embed(union)
            index = {t: i for i, t in enumerate(union)}
            el, er = e[[index[t] for t in left]], e[[index[t] for t in right]]
            sim = (el @ er.T).clamp(-1, 1).numpy()
            related = sim >= self.threshold
        else:
            a = [x for x in left for _ in right]
            b = [y for _ in left for y in right]
            shape = (len(left), len(right))
            both = self.entails(a + b, b + a).numpy()
            related = both[: len(a)].reshape(shape) & both[len(a) :].reshape(shape)
            sim = related.astype(np.float64)
        ids = {t: i for i, t in enumerate(sorted(set(left) | set(right)))}
        same = (
            np.asarray([ids[t] for t in left], dtype=np.int64)[:, None]
            == np.asarray([ids[t] for t in right], dtype=np.int64)[None, :]
        )
        return _Relation(related | same, np.where(same, 1.0, sim))

    # -- clustering --------------------------------------------------------------------------

    def _cluster(self, texts: list[str]):
        """Canonical clusters: ``(ids (N,), members per cluster sorted, sizes)``."""
        unique = sorted(set(texts))
        if self.method == "embedding":
            adjacency = self._relation(unique, unique).related
        else:
            adjacency = np.eye(len(unique), dtype=bool)
            pairs = [(i, j) for i in range(len(unique)) for j in range(i + 1, len(unique))]
            if pairs:
                a = [unique[i] for i, j in pairs] + [unique[j] for i, j in pairs]
                b = [unique[j] for i, j in pairs] + [unique[i] for i, j in pairs]
                e = self.entails(a, b).numpy()
                both = e[: len(pairs)] & e[len(pairs) :]
                for (i, j), r in zip(pairs, both, strict=True):
                    adjacency[i, j] = adjacency[j, i] = bool(r)
        comp = _components(adjacency)
        mult = {t: 0 for t in unique}
        for t in texts:
            mult[t] += 1
        groups: dict[int, list[str]] = {}
        for t, c in zip(unique, comp, strict=True):
            groups.setdefault(int(c), []).append(t)
        clusters = sorted(groups.values(), key=lambda g: (-sum(mult[t] for t in g), g[0]))
        cluster_of = {t: cid for cid, g in enumerate(clusters) for t in g}
        ids = torch.tensor([cluster_of[t] for t in texts], dtype=torch.int64)
        sizes = tuple(sum(mult[t] for t in g) for g in clusters)
        return ids, tuple(tuple(g) for g in clusters), sizes

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """Canonical cluster ids of the answers to one input, int64 ``(len(texts),)``.

        Ids run over ``[0, K)`` for ``K`` clusters, 0 the largest (module docstring).
        """
        texts = check_texts(texts)
        if not texts:
            return torch.zeros(0, dtype=torch.int64)
        return self._cluster(texts)[0]

    def select(self, selection_texts: Sequence[str]) -> ClusterOracle:
        """Clusters the ``n0`` selection answers and returns the oracle for the estimation answers.

        Args:
          selection_texts: the selection answers to one input, ``n0 >= 1`` strings.

        Returns:
          :class:`ClusterOracle` with ``K + 1`` classes: the ``K`` selection clusters in
          canonical order and ``"unmatched"``.
        """
        texts = check_texts(selection_texts, name="selection_texts")
        if not texts:
            raise ValueError("selection_texts must hold at least one answer, got 0")
        ids, members, sizes = self._cluster(texts)
        return ClusterOracle(self, members, sizes, ids)

    def __repr__(self) -> str:
        return f"SemanticClusterer(method={self.method!r}, threshold={self.threshold!r})"


def _entailment_id(config) -> int:
    """The class index whose name contains "entail" (case-insensitive), from the config."""
    found = {
        int(i)
        for i, name in (getattr(config, "id2label", None) or {}).items()
        if "entail" in str(name).lower() and "not" not in str(name).lower()
    }
    found |= {
        int(i)
        for name, i in (getattr(config, "label2id", None) or {}).items()
        if "entail" in str(name).lower() and "not" not in str(name).lower()
    }
    if len(found) != 1:
        raise ValueError(
            "the NLI model's config must name exactly one entailment class in "
            f"id2label/label2id, got id2label={getattr(config, 'id2label', None)!r}"
        )
    return found.pop()


class ClusterOracle:
    """Labels answers by the selection cluster they belong to (:meth:`SemanticClusterer.select`).

    An answer identical to a selection answer takes its cluster. Otherwise it joins the
    clusters holding a member it is related to: the one with the most similar member
    (``"embedding"``; ties to the lower id) or the lowest id (``"entailment"``); with none,
    it is ``"unmatched"`` (id ``K``). Each answer is labelled on its own, so the result
    for one answer does not depend on the others; on the selection answers it reproduces
    their clusters.

    Attributes:
      labels: ``("cluster 0", ..., "cluster K-1", "unmatched")``.
      members: per cluster, its distinct selection texts, sorted.
      sizes: per cluster, its number of selection answers (with multiplicity).
      selection_labels: cluster ids of the selection answers, int64 ``(n0,)``; count them
        with ``sampler.count_votes(oracle.selection_labels, num_classes=oracle.num_classes)``.
      selected: the selected class, 0 (the largest cluster).
      unmatched: ``K``.
    """

    selected = 0

    def __init__(self, clusterer: SemanticClusterer, members, sizes, selection_labels):
        self.clusterer = clusterer
        self.members: tuple[tuple[str, ...], ...] = members
        self.sizes: tuple[int, ...] = sizes
        self.selection_labels = selection_labels
        self.unmatched = len(members)
        self.labels = (*(f"cluster {i}" for i in range(len(members))), "unmatched")
        self._texts = [t for g in members for t in g]
        self._cluster_of = np.asarray([c for c, g in enumerate(members) for _ in g], dtype=np.int64)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """Class ids of estimation answers, int64 ``(len(texts),)`` in ``[0, K]``."""
        texts = check_texts(texts)
        if not texts:
            return torch.zeros(0, dtype=torch.int64)
        unique = sorted(set(texts))
        rel = self.clusterer._relation(unique, self._texts)
        k = self.unmatched
        score = np.full((len(unique), k), -np.inf)
        for c in range(k):
            cols = self._cluster_of == c
            s = np.where(rel.related[:, cols], rel.score[:, cols], -np.inf)
            score[:, c] = s.max(axis=1)
        best = score.argmax(axis=1)  # first maximum: ties to the lower id
        label = {
            t: (int(b) if np.isfinite(score[i, b]) else k)
            for i, (t, b) in enumerate(zip(unique, best, strict=True))
        }
        return torch.tensor([label[t] for t in texts], dtype=torch.int64)

    def __repr__(self) -> str:
        return f"ClusterOracle(sizes={self.sizes!r}, method={self.clusterer.method!r})"
