"""PromQL, as far as .ci/check-grafana needs it: which identifiers of an
expression (or of a Grafana template variable's query) are metric names.
Not a parser of the whole language: it tokenizes, balances brackets, and
tells names from functions, aggregations, keywords, label names, durations,
strings and Grafana variables. Its cases run on every check (`self_test`)."""

import re
import sys


class PromQLError(Exception):
    pass


TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+|\[\[\w+(?::\w+)?\]\])
  | (?P<num>0[xX][0-9a-fA-F]+
        |(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@:])
""", re.X)

AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
# Prometheus 3.5's functions, and start()/end() of the @ modifier.
FUNCTIONS = set("""
    abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
    clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year
    days_in_month deg delta deriv double_exponential_smoothing exp floor histogram_avg
    histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar
    histogram_sum holt_winters hour idelta increase info irate label_join label_replace
    last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin
    sinh sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time
    stdvar_over_time sum_over_time tan tanh time timestamp ts_of_max_over_time
    ts_of_min_over_time ts_of_last_over_time vector year start end
""".split())
# Each followed by a parenthesised list of label names.
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"bool", "offset", "and", "or", "unless", "atan2"}
NUMBERS = {"inf", "nan"}
CLOSING = {"(": ")", "{": "}", "[": "]"}


def tokenize(expr):
    tokens, pos = [], 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise PromQLError(f"unexpected {expr[pos:pos + 10]!r} at {pos}")
        if m.lastgroup != "ws":
            tokens.append((m.lastgroup, m.group()))
        pos = m.end()
    stack = []
    for kind, text in tokens:
        if kind == "op" and text in CLOSING:
            stack.append(CLOSING[text])
        elif kind == "op" and text in CLOSING.values():
            if not stack or stack.pop() != text:
                raise PromQLError(f"unbalanced {text!r}")
    if stack:
        raise PromQLError(f"missing {stack[-1]!r}")
    return tokens


def closing(tokens, i):
    """Index of the bracket closing the one at tokens[i]."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j][0] == "op" and tokens[j][1] in CLOSING:
            depth += 1
        elif tokens[j][0] == "op" and tokens[j][1] in CLOSING.values():
            depth -= 1
            if depth == 0:
                return j
    raise PromQLError("unbalanced brackets")


def matcher_names(items):
    """Metric names inside a `{...}`: `{"name"}` or `__name__="name"`."""
    names, item = set(), []
    for tok in items + [("op", ",")]:
        if tok != ("op", ","):
            item.append(tok)
            continue
        if len(item) == 1 and item[0][0] == "str":
            names.add(item[0][1][1:-1])
        elif len(item) == 3 and item[0][1].strip("\"'`") == "__name__":
            if item[1][1] != "=" or item[2][0] != "str":
                raise PromQLError("a __name__ other than = \"name\" cannot be checked")
            names.add(item[2][1][1:-1])
        elif item and not (len(item) == 3 and item[0][0] in ("ident", "str")
                           and item[1][1] in ("=", "!=", "=~", "!~") and item[2][0] == "str"):
            raise PromQLError(f"bad label matcher {' '.join(t for _, t in item)}")
        item = []
    return names


def metric_names(expr):
    """The metric names a PromQL expression selects."""
    tokens, names, i = tokenize(expr), set(), 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if kind == "op" and text == "{":
            end = closing(tokens, i)
            names |= matcher_names(tokens[i + 1:end])
            i = end
        elif kind == "op" and text == "[":  # a range or subquery: durations
            i = closing(tokens, i)
        elif kind == "ident" and text in LABEL_LISTS:
            if nxt == "(":
                i = closing(tokens, i + 1)
        elif kind == "ident" and (text in KEYWORDS or text.lower() in NUMBERS):
            pass
        elif kind == "ident" and text in AGGREGATIONS:
            # `sum (x) by (l)` or `sum by (l) (x)`: a keyword, not a name.
            if nxt not in ("(", "by", "without"):
                raise PromQLError(f"{text} without its parenthesised argument")
        elif kind == "ident" and nxt == "(":
            if text not in FUNCTIONS and text not in AGGREGATIONS:
                raise PromQLError(f"unknown function {text}()")
        elif kind == "ident":
            names.add(text)
        i += 1
    return names


def split_top_level(args):
    """`label_values`'s arguments split at their top-level commas."""
    tokens = tokenize(args)
    parts, depth, start = [], 0, 0
    spans = [m.span() for m in TOKEN.finditer(args) if m.lastgroup != "ws"]
    for (kind, text), (lo, _) in zip(tokens, spans):
        if kind == "op" and text in CLOSING:
            depth += 1
        elif kind == "op" and text in CLOSING.values():
            depth -= 1
        elif kind == "op" and text == "," and depth == 0:
            parts.append(args[start:lo])
            start = lo + 1
    return parts + [args[start:]]


def variable_metric_names(query):
    """Metric names of a template variable's query (Grafana's own syntax)."""
    query = (query.get("query") or "") if isinstance(query, dict) else (query or "")
    m = re.fullmatch(r"\s*(label_values|query_result|metrics|label_names)\((.*)\)\s*",
                     query, re.S)
    if not m:
        return metric_names(query) if query.strip() else set()
    fn, args = m.groups()
    if fn == "query_result":
        return metric_names(args)
    if fn == "label_values":
        parts = split_top_level(args)
        return metric_names(parts[0]) if len(parts) == 2 else set()
    return set()  # metrics(regex), label_names(): no name to check


PARSER_CASES = [
    ('histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket'
     '{job="$job", instance=~"$instance"}[$__rate_interval])))', {"http_request_duration_seconds_bucket"}),
    ('sum(rate(a_total[5m] offset 1h30m)) by (kind) / ignoring(kind) group_left b', {"a_total", "b"}),
    ('x and on (instance) (leader{job="m"} == bool 1) or vector(0)', {"x", "leader"}),
    ('sum without (instance) (rate(p_sum[1m])) / sum(rate(p_count[1m])) without (instance)',
     {"p_sum", "p_count"}),
    ('time() - process_start_time_seconds @ end()', {"process_start_time_seconds"}),
    ('max_over_time(rate(c[5m])[1h:1m]) > Inf', {"c"}),
    ('{__name__="outbox_depth", job="m"} + {"utf8.name"} * 1e3', {"outbox_depth", "utf8.name"}),
    ('count_values("version", meteobot_build_info) - topk(3, y) atan2 z', {"meteobot_build_info", "y", "z"}),
    ('label_replace(up, "dst", "$1", "src", "(.*)")', {"up"}),
]
PARSER_ERRORS = ["rat(x[5m])", "sum(x", "x{a=}", '{__name__=~"x.*"}', "sum + x"]
VARIABLE_CASES = [
    ('label_values(meteobot_build_info{job="$job"}, instance)', {"meteobot_build_info"}),
    ("label_values(job)", set()),
    ("query_result(topk(5, sum by (route) (rate(h_count[1h]))))", {"h_count"}),
]


def check(ok, what):
    if not ok:
        sys.exit("FAILED: " + what)


def self_test():
    for expr, want in PARSER_CASES:
        got = metric_names(expr)
        check(got == want, f"self-test: {expr!r} gave {sorted(got)}, not {sorted(want)}")
    for expr in PARSER_ERRORS:
        try:
            metric_names(expr)
        except PromQLError:
            continue
        sys.exit(f"FAILED: self-test: {expr!r} was accepted")
    for query, want in VARIABLE_CASES:
        got = variable_metric_names({"query": query})
        check(got == want, f"self-test: {query!r} gave {sorted(got)}, not {sorted(want)}")
    print(f"ok: self-test: {len(PARSER_CASES) + len(PARSER_ERRORS) + len(VARIABLE_CASES)}"
          " tokenizer cases")
