"""One order's cheapest pattern, exactly: which of its locations ship and which units each, every parcel paying its
whole fixed cost (routing/patterns.py sets the prices and does the easy orders without this).

Dynamic programming over the units covered per line (states: the product of qty + 1 over the order's lines):
first with every location usable more than once (a relaxation, fast: best(t) per unit vector t, then
dp[T] = min over t <= T of dp[T - t] + best(t)); when its answer uses each location within its stock it is exact
(two uses of one location merged cost less), else the dp is redone location after location, each used at most
once (exact). Orders with too many states go to a depth-first branch-and-bound over their locations, whose lower
bound stays valid when its node budget runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Dynamic programming over at most this many coverage states and transitions (t <= T pairs).
MAX_STATES = 256
MAX_TRANSITIONS = 20_000
TOLERANCE = 1e-9


@dataclass(frozen=True)
class OrderPrices:
    """One order at given prices: its usable locations (pairs), their fixed cost F (parcel + split + slot price),
    per (location, line) the unit cost and the units it can give (0: none worth giving), and the quantities."""

    pairs: IntArray        # (k,) pair indices
    fixed: FloatArray      # (k,)
    unit: FloatArray       # (k, lines)
    most: FloatArray       # (k, lines)
    qty: IntArray          # (lines,)
    penalty: float         # per unfilled unit
    base: float            # cost of a non-empty pattern besides F and units: sum q P - split (first parcel free of it)
    nothing: float         # cost of shipping nothing: sum q P


@dataclass(frozen=True)
class Cover:
    """The search's answer: a lower bound of the cheapest pattern, the best found (cost, its pairs) and the work."""

    lower: float
    cost: float
    pairs: list[int]
    work: int


@dataclass(frozen=True)
class _Shape:
    """The coverage states of an order's lines (mixed radix) and the dp's transitions, all and per total units."""

    vectors: FloatArray                                 # (states, lines) units covered per line
    flat: tuple[IntArray, IntArray, IntArray]           # every transition (target, part, rest), sorted by target
    starts: IntArray                                    # transitions into state T: flat[starts[T]:starts[T + 1]]
    # Per total units of the target: (targets, first transition of each, part, rest), sorted by target.
    layers: list[tuple[IntArray, IntArray, IntArray, IntArray]]


_SHAPES: dict[tuple[int, ...], _Shape | None] = {}


def _shape(dims: tuple[int, ...]) -> _Shape | None:
    """The states and transitions for lines of these sizes (qty + 1), cached; None when too many."""
    if dims in _SHAPES:
        return _SHAPES[dims]
    states = int(np.prod(dims))
    transitions = int(np.prod([d * (d + 1) // 2 for d in dims]))
    if not dims or states > MAX_STATES or transitions > MAX_TRANSITIONS:
        _SHAPES[dims] = None
        return None
    vec = np.asarray(np.unravel_index(np.arange(states), dims)).T.reshape(states, len(dims))
    # np.nonzero lists (target, part) row by row: sorted by target, then part.
    into, part = np.nonzero(np.all(vec[None, :, :] <= vec[:, None, :], axis=2))   # part <= into
    keep = part > 0
    into, part = into[keep].astype(np.int64), part[keep].astype(np.int64)
    rest = np.asarray(np.ravel_multi_index(tuple((vec[into] - vec[part]).T), dims), dtype=np.int64)
    size = vec.sum(axis=1)[into]
    layers = []
    for u in range(1, int(vec.sum(axis=1).max()) + 1):
        tg, pt, rs = into[size == u], part[size == u], rest[size == u]
        first = np.flatnonzero(np.concatenate(([True], tg[1:] != tg[:-1])))
        layers.append((tg[first], first.astype(np.int64), pt, rs))
    starts = np.searchsorted(into, np.arange(states + 1)).astype(np.int64)
    shape = _Shape(vec.astype(np.float64), (into, part, rest), starts, layers)
    _SHAPES[dims] = shape
    return shape


def cheapest(op: OrderPrices, incumbent: float, node_limit: int) -> Cover:
    """The cheapest pattern of one order (exact by dp; by branch-and-bound within `node_limit` nodes otherwise)."""
    shape = _shape(tuple(int(q) + 1 for q in op.qty))
    if shape is None:
        return _branch_and_bound(op, incumbent, node_limit)
    return _dp(op, shape)


def _first_per_target(into: IntArray, val: FloatArray, tie: IntArray) -> IntArray:
    """Indices of the cheapest transition per target state (ties: smallest `tie`), deterministic."""
    pick = np.lexsort((tie, val, into))
    first = np.ones(pick.shape[0], dtype=bool)
    first[1:] = into[pick[1:]] != into[pick[:-1]]
    return np.asarray(pick[first], dtype=np.int64)


def _finish(op: OrderPrices, shape: _Shape, dp: FloatArray) -> tuple[float, int]:
    """The best end state (units covered; the rest unfilled) and the pattern's cost."""
    vec = shape.vectors
    left = dp + op.penalty * (float(op.qty.sum()) - vec.sum(axis=1))
    left[0] = np.inf
    end = int(np.argmin(left))
    # dp counts the units at their cost and left adds P per uncovered unit: only the first parcel's split is left.
    return float(left[end]) + op.base - op.nothing, end


def _dp(op: OrderPrices, shape: _Shape) -> Cover:
    """Coverage dp, locations reusable (relaxation); redone with each location once when the answer needs it."""
    vec = shape.vectors
    n = op.pairs.shape[0]
    work = len(shape.flat[0]) + n * vec.shape[0]
    if n == 0:
        return Cover(op.nothing, op.nothing, [], work)
    able = np.all(vec[:, None, :] <= op.most[None, :, :], axis=2)            # (states, locations)
    price = np.where(able, op.fixed[None, :] + vec @ op.unit.T, np.inf)
    price[0, :] = np.inf
    who = np.argmin(price, axis=1)
    best = price[np.arange(vec.shape[0]), who]
    dp = np.full(vec.shape[0], np.inf)
    dp[0] = 0.0
    for targets, first, part, rest in shape.layers:
        dp[targets] = np.minimum.reduceat(dp[rest] + best[part], first)
    cost, end = _finish(op, shape, dp)
    if not cost < op.nothing:
        return Cover(op.nothing, op.nothing, [], work)
    # Back from the end state: the first transition (smallest part) that gives each state its value.
    _, parts, rests = shape.flat
    used: dict[int, FloatArray] = {}
    state = end
    while state:
        a, b = int(shape.starts[state]), int(shape.starts[state + 1])
        move = int(parts[a:b][int(np.argmin(dp[rests[a:b]] + best[parts[a:b]]))])
        i = int(who[move])
        used[i] = used.get(i, np.zeros(vec.shape[1])) + vec[move]
        state -= move
    if all(bool(np.all(u <= op.most[i])) for i, u in used.items()):
        return Cover(cost, cost, sorted(int(op.pairs[i]) for i in used), work)
    return _dp_once(op, shape, price, able, work)


def _dp_once(op: OrderPrices, shape: _Shape, price: FloatArray, able: BoolArray, work: int) -> Cover:
    """The coverage dp location after location, each used at most once: exact."""
    into, part, rest = shape.flat
    states = shape.vectors.shape[0]
    n = op.pairs.shape[0]
    dp = np.full(states, np.inf)
    dp[0] = 0.0
    took = np.full((n, states), -1, dtype=np.int64)
    for i in range(n):
        ok = able[part, i]
        tgt, prt = into[ok], part[ok]
        val = dp[rest[ok]] + price[prt, i]
        chosen = _first_per_target(tgt, val, prt)
        chosen = chosen[val[chosen] < dp[tgt[chosen]] - TOLERANCE]
        dp = dp.copy()
        dp[tgt[chosen]] = val[chosen]
        took[i, tgt[chosen]] = prt[chosen]
        work += int(ok.sum())
    cost, end = _finish(op, shape, dp)
    if not cost < op.nothing:
        return Cover(op.nothing, op.nothing, [], work)
    chosen_pairs: list[int] = []
    state = end
    for i in range(n - 1, -1, -1):
        if state and took[i, state] >= 0:
            chosen_pairs.append(int(op.pairs[i]))
            state -= int(took[i, state])
    return Cover(cost, cost, sorted(chosen_pairs), work)


def _branch_and_bound(op: OrderPrices, incumbent: float, node_limit: int) -> Cover:
    """Depth-first over the locations sorted by F (include, then exclude). A node (k, S) stands for the strict
    supersets of S built from locations ranked k..; its bound is the larger of sum_S F + F[k] + fill(S and k..)
    (one more parcel at least, the cheapest units) and sum_S F + fill with the units of k.. at u + F / units it can
    give (a location shipping t of them pays F >= t F / units). Past `node_limit` nodes the open nodes' least bound
    is the lower bound."""
    ranked = np.lexsort((op.pairs, op.fixed))
    f = [float(x) for x in op.fixed[ranked]]
    n, lines = len(f), op.qty.shape[0]
    most_total = op.most[ranked].sum(axis=1)
    plain: list[tuple[int, list[tuple[float, int, int]]]] = []
    spread: list[list[tuple[float, int, int]]] = []
    for ln in range(lines):
        entries = sorted((float(op.unit[ranked[r], ln]), int(op.most[ranked[r], ln]), r)
                         for r in range(n) if op.most[ranked[r], ln] > 0)
        plain.append((int(op.qty[ln]), entries))
        spread.append(sorted((u + f[r] / float(most_total[r]), m, r) for u, m, r in entries))
    pen, base = op.penalty, op.base

    def fill(mask: int, k: int) -> float:
        """Cheapest units (minus q P) from the locations in `mask` or ranked >= k."""
        total = 0.0
        for q, entries in plain:
            left = q
            for u, m, r in entries:
                if r >= k or (mask >> r) & 1:
                    take = min(m, left)
                    total += take * (u - pen)
                    left -= take
                    if not left:
                        break
        return total

    def fill_spread(mask: int, k: int) -> float:
        """The same with the units of locations ranked >= k outside `mask` at their amortised cost."""
        total = 0.0
        for (q, entries), amortised in zip(plain, spread):
            own = [(u, m) for u, m, r in entries if r < k and (mask >> r) & 1]
            merged = sorted(own + [(u, m) for u, m, r in amortised if r >= k])
            left = q
            for u, m in merged:
                if not left or u >= pen:
                    break
                take = min(m, left)
                total += take * (u - pen)
                left -= take
        return total

    def bound(k: int, mask: int, fs: float) -> float:
        return fs + base + max(f[k] + fill(mask, k), fill_spread(mask, k))

    best, best_mask = incumbent, -1
    nodes = 0
    stack: list[tuple[int, int, float]] = [(0, 0, 0.0)]   # (k, S as a bit mask over ranks < k, sum_S F)
    open_bound = np.inf
    while stack:
        k, mask, fs = stack.pop()
        if k >= n:
            continue
        if nodes >= node_limit:
            open_bound = min(open_bound, bound(k, mask, fs))
            continue
        nodes += 1
        if bound(k, mask, fs) >= best - TOLERANCE:
            continue
        inc = mask | (1 << k)
        cost = fs + f[k] + base + fill(inc, n)
        if cost < best - TOLERANCE:
            best, best_mask = cost, inc
        stack.append((k + 1, mask, fs))          # exclude k, explored after
        stack.append((k + 1, inc, fs + f[k]))    # include k first
    chosen = [int(op.pairs[ranked[r]]) for r in range(n) if best_mask >= 0 and (best_mask >> r) & 1]
    return Cover(min(best, float(open_bound)), best, chosen, nodes * max(1, lines) * n)
