"""Tests of sampler._oracle_cluster: clusters as connected components of the relation graph
(against a breadth-first search written here), canonical numbering, independence of order and
batch size, the selection / estimation labelling, and the tiny real encoder and NLI model."""

import collections
import itertools
import typing

import numpy as np
import pytest
import torch
import transformers
from hypothesis import given
from hypothesis import strategies as st

import sampler
from sampler._oracle_cluster import _entailment_id
from sampler.oracles import ClusterOracle, Oracle, SemanticClusterer
from sampler.tiny import build_tiny_nli, build_tiny_text_encoder

WORDS = [
    "yes",
    "no",
    "a red cup",
    "the red cup",
    "a cup",
    "two",
    "three dogs",
    "stop",
    "turn left",
    "left",
    "the cat is on the table",
    "a cat",
]


def _stub_embedding(dim=4, seed=0):
    """A fixed random unit vector per distinct text (an embedding that ignores batching)."""
    table = {}
    gen = torch.Generator().manual_seed(seed)

    def embed(texts):
        for t in sorted(set(texts) - set(table)):
            table[t] = torch.randn(dim, generator=gen, dtype=torch.float64)
        return torch.stack([table[t] for t in texts])

    return embed


def _word_set_entails(premises, hypotheses):
    """Stub NLI: p entails h iff every word of h is a word of p."""
    return torch.tensor(
        [set(h.split()) <= set(p.split()) for p, h in zip(premises, hypotheses, strict=True)],
        dtype=torch.bool,
    )


def _reference_clusters(texts, related):
    """Breadth-first search over the distinct texts, then the documented canonical numbering."""
    unique = sorted(set(texts))
    seen, groups = set(), []
    for start in unique:
        if start in seen:
            continue
        group, queue = [], collections.deque([start])
        seen.add(start)
        while queue:
            a = queue.popleft()
            group.append(a)
            for b in unique:
                if b not in seen and (a == b or related(a, b)):
                    seen.add(b)
                    queue.append(b)
        groups.append(sorted(group))
    count = collections.Counter(texts)
    groups.sort(key=lambda g: (-sum(count[t] for t in g), g[0]))
    cid = {t: i for i, g in enumerate(groups) for t in g}
    return [cid[t] for t in texts]


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory):
    return build_tiny_text_encoder(tmp_path_factory.mktemp("encoder"), seed=0)


@pytest.fixture(scope="module")
def nli_path(tmp_path_factory):
    return build_tiny_nli(tmp_path_factory.mktemp("nli"), seed=0)


texts_strategy = st.lists(st.sampled_from(WORDS), min_size=1, max_size=14)


@given(texts_strategy, st.floats(-1.0, 1.0))
def test_embedding_clusters_are_components_of_the_threshold_graph(texts, threshold):
    embed = _stub_embedding()
    clusterer = SemanticClusterer(embed, threshold=threshold)
    vec = {t: embed([t])[0].numpy() for t in WORDS}

    def related(a, b):
        cos = vec[a] @ vec[b] / np.linalg.norm(vec[a]) / np.linalg.norm(vec[b])
        return cos >= threshold

    assert clusterer(texts).tolist() == _reference_clusters(texts, related)


@given(texts_strategy)
def test_entailment_clusters_group_texts_with_equal_word_sets(texts):
    """Word-set entailment both ways <=> same word set; no pair of different sets is related."""
    clusterer = SemanticClusterer(_word_set_entails, method="entailment")
    expected = _reference_clusters(texts, lambda a, b: set(a.split()) == set(b.split()))
    assert clusterer(texts).tolist() == expected


def test_entailment_in_one_direction_does_not_merge_and_chains_do():
    clusterer = SemanticClusterer(_word_set_entails, method="entailment")
    # "a cup" is entailed by "a red cup" but does not entail it: two clusters.
    # A tie in size goes to the smaller text: "a cup" < "a red cup".
    assert clusterer(["a red cup", "a cup"]).tolist() == [1, 0]
    chain = {frozenset({"x", "y"}), frozenset({"y", "z"})}  # x~y, y~z, not x~z

    def entails(premises, hypotheses):
        return torch.tensor(
            [frozenset({p, h}) in chain for p, h in zip(premises, hypotheses, strict=True)]
        )

    non_transitive = SemanticClusterer(entails, method="entailment")
    assert non_transitive(["x", "z", "y", "w"]).tolist() == [0, 0, 0, 1]


def test_canonical_numbering_largest_first_ties_by_smallest_text():
    clusterer = SemanticClusterer(_word_set_entails, method="entailment")
    texts = ["b", "c", "c", "a", "b b", "d"]  # {"b", "b b"} and {"c"} both have 2 answers
    assert clusterer(texts).tolist() == [0, 1, 1, 2, 0, 3]


@given(texts_strategy, st.randoms(use_true_random=False))
def test_cluster_ids_permute_with_the_answers(texts, rnd):
    clusterer = SemanticClusterer(_stub_embedding(), threshold=0.3)
    perm = list(range(len(texts)))
    rnd.shuffle(perm)
    ids = clusterer(texts)
    assert clusterer([texts[i] for i in perm]).tolist() == ids[perm].tolist()


def test_real_encoder_clusters_are_order_and_batch_size_independent(encoder_path):
    texts = [*WORDS, "yes", "stop", "a cup"]
    ids = {}
    for bs in (1, 4, 64):
        clusterer = SemanticClusterer(encoder_path, threshold=0.9, batch_size=bs, device="cpu")
        ids[bs] = clusterer(texts)
        gen = torch.Generator().manual_seed(bs)
        for _ in range(3):
            perm = torch.randperm(len(texts), generator=gen).tolist()
            assert clusterer([texts[i] for i in perm]).tolist() == ids[bs][perm].tolist()
    assert ids[1].tolist() == ids[4].tolist() == ids[64].tolist()
    e1 = SemanticClusterer(encoder_path, batch_size=1, device="cpu").embed(texts)
    e64 = SemanticClusterer(encoder_path, batch_size=64, device="cpu").embed(texts)
    assert e1.dtype == torch.float64 and e1.shape == (len(texts), 32)
    torch.testing.assert_close(e1, e64, rtol=0, atol=1e-5)  # padding changes float32 rounding only
    torch.testing.assert_close(e1.norm(dim=-1), torch.ones(len(texts), dtype=torch.float64))


def test_real_encoder_threshold_extremes(encoder_path):
    texts = [*WORDS, "yes", "yes", "stop"]
    one = SemanticClusterer(encoder_path, threshold=-1.0, device="cpu")(texts)
    assert one.tolist() == [0] * len(texts)
    separate = SemanticClusterer(encoder_path, threshold=1.0, device="cpu")(texts)
    assert int(separate.max()) + 1 == len(set(texts))  # one cluster per distinct text
    for t in set(texts):  # identical texts always share a cluster
        assert len({int(separate[i]) for i, u in enumerate(texts) if u == t}) == 1
    assert separate[texts.index("yes")] == 0  # "yes" (3 answers) is the largest


def test_real_nli_entailment_is_deterministic_and_order_independent(nli_path):
    texts = [*WORDS[:8], "yes", "stop"]
    pairs = list(itertools.permutations(sorted(set(texts)), 2))
    tok = transformers.AutoTokenizer.from_pretrained(nli_path)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        nli_path, use_safetensors=True
    )
    # The random head's logits are nearly constant and never "entailment": scale its weights
    # up and move the entailment bias to the middle of the margins (one pair at a time), so
    # that half of the pairs entail.
    with torch.no_grad():
        model.classifier.weight *= 1000.0
    with torch.inference_mode():
        logits = torch.cat([model(**tok(a, b, return_tensors="pt")).logits for a, b in pairs])
    margin = (logits[:, 2] - logits[:, :2].max(-1).values).sort().values
    with torch.no_grad():
        model.classifier.bias[2] -= (margin[len(pairs) // 2 - 1] + margin[len(pairs) // 2]) / 2
    clusterer = SemanticClusterer(model, tok, method="entailment", batch_size=5, device="cpu")
    single = SemanticClusterer(model, tok, method="entailment", batch_size=1, device="cpu")
    ids = clusterer(texts)
    assert ids.tolist() == clusterer(texts).tolist() == single(texts).tolist()
    perm = torch.randperm(len(texts), generator=torch.Generator().manual_seed(0)).tolist()
    assert clusterer([texts[i] for i in perm]).tolist() == ids[perm].tolist()
    assert ids[0] == ids[8] and ids[7] == ids[9]
    ent = clusterer.entails(["yes", "a cup"], ["no", "a red cup"])
    assert ent.dtype == torch.bool and ent.shape == (2,)
    # The equivalence is the components of "entails both ways", read off the model directly.
    e = clusterer.entails([a for a, _ in pairs], [b for _, b in pairs]).tolist()
    assert 0 < sum(e) < len(e)  # both outcomes occur, so the comparisons below can fail
    assert single.entails([a for a, _ in pairs], [b for _, b in pairs]).tolist() == e
    ent_of = dict(zip(pairs, e, strict=True))
    expected = _reference_clusters(texts, lambda a, b: ent_of[(a, b)] and ent_of[(b, a)])
    assert ids.tolist() == expected


def test_selection_then_estimation_votes():
    clusterer = SemanticClusterer(_word_set_entails, method="entailment")
    selection = ["a red cup", "red a cup", "a cup", "cup red a", "two"]
    oracle = clusterer.select(selection)
    assert isinstance(oracle, ClusterOracle) and isinstance(oracle, Oracle)
    assert oracle.labels == ("cluster 0", "cluster 1", "cluster 2", "unmatched")
    assert oracle.sizes == (3, 1, 1) and oracle.unmatched == 3
    assert oracle.members[0] == ("a red cup", "cup red a", "red a cup")
    assert oracle.selection_labels.tolist() == clusterer(selection).tolist() == [0, 0, 1, 0, 2]
    assert oracle(selection).tolist() == oracle.selection_labels.tolist()
    estimation = ["cup a red", "a cup", "three dogs", "two", "red cup a", "a red cup"]
    labels = oracle(estimation)
    assert labels.tolist() == [0, 1, 3, 2, 0, 0]
    # Each answer is labelled on its own: the label of one answer ignores the others.
    assert labels.tolist() == [int(oracle([t])[0]) for t in estimation]
    sel_counts = sampler.count_votes(oracle.selection_labels, num_classes=oracle.num_classes)
    est_counts = sampler.count_votes(labels, num_classes=oracle.num_classes)
    vc = sampler.certificate_from_counts(sel_counts, est_counts, alpha=0.05, sigma=0.5)
    assert int(vc.top_class) == oracle.selected == 0 and int(vc.k) == 3 and int(vc.n) == 6


def test_estimation_answer_related_to_two_clusters_takes_the_most_similar_member():
    vectors = {
        "a": [1.0, 0.0],
        "a2": [0.98, 0.2],
        "b": [0.0, 1.0],
        "mid": [0.6, 0.8],
        "mid_b": [0.5, 0.87],
        "far": [-1.0, 0.0],
    }

    def embed(texts):
        return torch.tensor([vectors[t] for t in texts], dtype=torch.float64)

    oracle = SemanticClusterer(embed, threshold=0.5).select(["a", "a2", "b"])
    assert oracle.members == (("a", "a2"), ("b",))
    # "mid" is related to a2 (cos 0.748) and b (0.8): b is closer; "far" matches nothing.
    assert oracle(["mid", "mid_b", "far", "a"]).tolist() == [1, 1, 2, 0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 1.5}, r"threshold must be a number in \[-1, 1\], got 1.5"),
        ({"threshold": -1.01}, r"threshold must be a number in \[-1, 1\]"),
        ({"threshold": float("nan")}, r"threshold must be a number in \[-1, 1\]"),
        ({"method": "entailment", "threshold": 0.5}, "threshold must be None"),
        ({"method": "kmeans"}, "method must be one of"),
        ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
        ({"max_length": 0}, "max_length must be an int >= 1"),
    ],
)
def test_clusterer_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SemanticClusterer(_stub_embedding(), **kwargs)


def test_clusterer_rejects_bad_texts_and_callables():
    clusterer = SemanticClusterer(_stub_embedding(), threshold=0.5)
    with pytest.raises(ValueError, match="texts must be a sequence of strings"):
        clusterer("yes")
    with pytest.raises(ValueError, match="selection_texts must hold at least one answer"):
        clusterer.select([])
    with pytest.raises(ValueError, match="selection_texts must hold only strings"):
        clusterer.select(["a", 1])
    assert clusterer([]).shape == (0,)
    bad = SemanticClusterer(lambda texts: torch.zeros(len(texts)), threshold=0.5)
    with pytest.raises(ValueError, match=r"must return shape \(N, D\)"):
        bad(["a", "b"])
    bad_nli = SemanticClusterer(lambda p, h: torch.zeros(len(p)), method="entailment")
    with pytest.raises(ValueError, match="must return a bool tensor"):
        bad_nli(["a", "b"])
    with pytest.raises(ValueError, match="model must be a path"):
        SemanticClusterer(3)


def test_entailment_id_is_read_from_the_config():
    class Config:
        id2label: typing.ClassVar = {0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}
        label2id: typing.ClassVar = {"ENTAILMENT": 0, "NEUTRAL": 1, "CONTRADICTION": 2}

    assert _entailment_id(Config()) == 0
    Config.id2label = {0: "LABEL_0", 1: "LABEL_1"}
    Config.label2id = {"LABEL_0": 0, "LABEL_1": 1}
    with pytest.raises(ValueError, match="exactly one entailment class"):
        _entailment_id(Config())
    Config.id2label = {0: "entailment", 1: "not_entailment"}
    Config.label2id = {}
    assert _entailment_id(Config()) == 0
