"""Oracles: answers of the smoothed model (texts) -> class ids, and their error rates.

One module per concept, re-exported here by name: the protocol and :func:`error_rates`
(:mod:`sampler._oracle_base`), the rule-based refusal judge and action parser
(:mod:`sampler._oracle_rules`), the LLM judge (:mod:`sampler._oracle_llm`) and semantic
clustering (:mod:`sampler._oracle_cluster`).
"""

from sampler._oracle_base import Oracle, OracleErrorRates, error_rates
from sampler._oracle_cluster import ClusterOracle, SemanticClusterer
from sampler._oracle_llm import DEFAULT_JUDGE_PROMPT, LLMJudge, parse_judgement
from sampler._oracle_profanity import ProfanityJudge
from sampler._oracle_rules import DEFAULT_ACTIONS, REFUSAL_PHRASES, ActionParser, RefusalJudge

__all__ = [
    "DEFAULT_ACTIONS",
    "DEFAULT_JUDGE_PROMPT",
    "REFUSAL_PHRASES",
    "ActionParser",
    "ClusterOracle",
    "LLMJudge",
    "Oracle",
    "OracleErrorRates",
    "ProfanityJudge",
    "RefusalJudge",
    "SemanticClusterer",
    "error_rates",
    "parse_judgement",
]
